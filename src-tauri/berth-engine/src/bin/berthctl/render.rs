//! Progress on stderr, like compose: a live display on a terminal, plain lines otherwise.

use std::io::{IsTerminal, Write};

use berth_engine::{Progress, ProgressEvent};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// A progress sink and the task that draws it; await the task after the operation so every
/// line is out before the command's result.
pub fn progress() -> (Progress, JoinHandle<()>) {
    let (progress, rx) = Progress::channel();
    let live = std::io::stderr().is_terminal();
    (progress, tokio::spawn(draw(rx, live)))
}

async fn draw(mut rx: UnboundedReceiver<ProgressEvent>, live: bool) {
    let mut board = Board::default();
    while let Some(event) = rx.recv().await {
        let mut err = std::io::stderr().lock();
        match event {
            ProgressEvent::Resource {
                resource,
                name,
                status,
            } => {
                let line = format!(" {resource} {name}  {status}");
                if live {
                    board.set(format!("{resource} {name}"), line);
                    board.draw(&mut err);
                } else {
                    let _ = writeln!(err, "{line}");
                }
            }
            ProgressEvent::Layer {
                image,
                layer,
                status,
                current,
                total,
            } => {
                let amount = match (current, total) {
                    (Some(c), Some(t)) if t > 0 => {
                        format!(" {:.1}MB/{:.1}MB", c as f64 / 1e6, t as f64 / 1e6)
                    }
                    _ => String::new(),
                };
                let line = format!("   {layer} {status}{amount}");
                if live {
                    board.set(format!("{image} {layer}"), line);
                    board.draw(&mut err);
                } else if current.is_none() {
                    // Plain output gets each layer's milestones, not every byte count.
                    let _ = writeln!(err, " {image} {layer} {status}");
                }
            }
            ProgressEvent::Waiting {
                service,
                dependency,
                condition,
            } => {
                let goal = match condition.as_str() {
                    "service_healthy" => "to be healthy",
                    "service_completed_successfully" => "to complete",
                    _ => "to start",
                };
                let line = format!(" Service {service}  Waiting for {dependency} {goal}");
                if live {
                    board.set(format!("Service {service}"), line);
                    board.draw(&mut err);
                } else {
                    let _ = writeln!(err, "{line}");
                }
            }
            ProgressEvent::BuildOutput { service, line } => {
                board.above(&mut err, &format!(" {service} | {line}"));
            }
            ProgressEvent::Warning { message } => {
                board.above(&mut err, &format!("WARN {message}"));
            }
        }
    }
}

/// The live display: one line per resource, redrawn in place.
#[derive(Default)]
struct Board {
    lines: Vec<(String, String)>,
    drawn: usize,
}

impl Board {
    fn set(&mut self, key: String, line: String) {
        match self.lines.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = line,
            None => self.lines.push((key, line)),
        }
    }

    fn clear(&mut self, out: &mut impl Write) {
        if self.drawn > 0 {
            let _ = write!(out, "\x1b[{}F\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }

    fn draw(&mut self, out: &mut impl Write) {
        self.clear(out);
        for (_, line) in &self.lines {
            let _ = writeln!(out, "{line}");
        }
        self.drawn = self.lines.len();
    }

    /// A line printed above the board (or plainly, when nothing is drawn).
    fn above(&mut self, out: &mut impl Write, line: &str) {
        let redraw = self.drawn > 0;
        self.clear(out);
        let _ = writeln!(out, "{line}");
        if redraw {
            self.draw(out);
        }
    }
}
