//! `berthctl logs`: the project's container logs, printed like `docker compose logs`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::{Context, bail};
use berth_engine::CancellationToken;
use berth_engine::logs::{
    self, Filter, FollowOptions, Level, Matcher, Origin, Record, Search, SearchMode,
    format_rfc3339, history, parse_rfc3339,
};
use clap::Args;
use tokio::sync::mpsc;

use crate::stack_args;
use berth_engine::ProjectArgs;

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Show timestamps.
    #[arg(short = 't', long)]
    timestamps: bool,
    /// Number of lines to show from the end of the logs of each container, or "all".
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show logs since a timestamp (2013-01-02T13:23:37Z) or relative (42m).
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp (2013-01-02T13:23:37Z) or relative (42m).
    #[arg(long)]
    until: Option<String>,
    /// Don't print a prefix in logs.
    #[arg(long)]
    no_log_prefix: bool,
    /// Produce monochrome output.
    #[arg(long)]
    no_color: bool,
    /// Only lines matching this regular expression (searched without escape sequences).
    #[arg(long, value_name = "PATTERN")]
    grep: Option<String>,
    /// Only lines of this level or above (trace, debug, info, notice, warn, error, fatal).
    #[arg(long, value_name = "LEVEL")]
    level: Option<String>,
    /// Print the lines Berth stored for the project (kept across recreates and restarts),
    /// oldest first, instead of the current containers' logs.
    #[arg(long, conflicts_with_all = ["follow", "tail"])]
    history: bool,
    /// Services to show (all when none are named).
    services: Vec<String>,
}

/// Prefix colours, as compose cycles them per service.
const COLORS: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

pub async fn run(project: &ProjectArgs, args: LogsArgs) -> anyhow::Result<()> {
    let stack = stack_args::stack_by_name(project).await?;
    let now = berth_engine::clock::now_ns();
    if args.history {
        return history(&stack, &args, now).await;
    }
    let tail = match args.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse()
                .with_context(|| format!("--tail {n}: not a number or \"all\""))?,
        ),
    };
    let options = FollowOptions {
        tail,
        since: time_of("since", &args.since, now)?,
        until: time_of("until", &args.until, now)?,
        follow: args.follow,
        services: args.services.clone(),
        untimed: !args.timestamps,
        max_line: None,
        resume: Default::default(),
    };
    let grep = grep_of(&args.grep)?;
    let level = level_of(&args.level)?;
    let (tx, mut rx) = mpsc::channel::<Vec<Record>>(64);
    let cancel = CancellationToken::new();
    let engine = stack.engine().clone();
    let name = stack.project().name.clone();
    let reader = tokio::spawn({
        let cancel = cancel.clone();
        async move { logs::follow(&engine, &name, options, tx, cancel).await }
    });
    let color = !args.no_color && std::io::stdout().is_terminal();
    let mut printer = Printer {
        prefix: !args.no_log_prefix,
        timestamps: args.timestamps,
        color,
        grep,
        level,
        width: 0,
        services: HashMap::new(),
        out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
    };
    loop {
        let batch = tokio::select! {
            batch = rx.recv() => batch,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(batch) = batch else { break };
        if printer.print(&batch).is_err() {
            break; // stdout closed (`| head`)
        }
        // Following, show lines as soon as nothing more is waiting; otherwise write in blocks.
        if args.follow && rx.is_empty() && printer.out.flush().is_err() {
            break;
        }
    }
    let _ = printer.out.flush();
    cancel.cancel();
    drop(rx);
    reader.await.context("the log reader panicked")??;
    Ok(())
}

/// `--history`: the project's stored lines on this engine that pass the filters, printed as
/// the live ones are.
async fn history(stack: &berth_engine::Stack, args: &LogsArgs, now: i64) -> anyhow::Result<()> {
    let info = stack
        .engine()
        .docker()
        .info()
        .await
        .context("asking the engine for its ID, which names the history")?;
    let root = history::default_root()
        .context("no data directory for the log history: set BERTH_DATA_DIR or HOME")?;
    let name = &stack.project().name;
    let dir = history::project_dir(&root, &info.id.unwrap_or_default(), name);
    if !dir.is_dir() {
        bail!(
            "No log history of project {name} on this engine in {}: Berth stores it while the \
             project is open in the app.",
            dir.display()
        );
    }
    let filter = Filter {
        services: args.services.clone(),
        min_level: level_of(&args.level)?,
        since: time_of("since", &args.since, now)?,
        until: time_of("until", &args.until, now)?,
        ..Filter::default()
    };
    let grep = grep_of(&args.grep)?;
    let mut printer = Printer {
        prefix: !args.no_log_prefix,
        timestamps: args.timestamps,
        color: !args.no_color && std::io::stdout().is_terminal(),
        grep: None,
        level: None,
        width: 0,
        services: HashMap::new(),
        out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
    };
    let mut written = Ok(());
    history::segments::each(&dir, |store| {
        if written.is_err() {
            return;
        }
        let origins: Vec<Arc<Origin>> = store
            .sources()
            .iter()
            .map(|s| {
                Arc::new(Origin {
                    id: String::new(),
                    service: s.service.clone(),
                    name: match s.container.is_empty() {
                        true => format!("{} (berth)", s.service),
                        false => s.container.clone(),
                    },
                })
            })
            .collect();
        let batch: Vec<Record> = logs::select(store, &filter, grep.as_ref())
            .into_iter()
            .filter_map(|pos| {
                let source = store.source_number(pos)?;
                Some(Record {
                    origin: origins.get(usize::from(source))?.clone(),
                    stream: store.stream(pos)?,
                    ts: store.timestamp(pos)?,
                    text: store.raw(pos)?.to_vec(),
                    partial: store.partial(pos)?,
                    marker: store.marker(pos),
                })
            })
            .collect();
        written = printer.print(&batch);
    })
    .with_context(|| format!("reading the log history in {}", dir.display()))?;
    match written.and_then(|()| printer.out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `--since`/`--until` as nanoseconds since the epoch.
fn time_of(flag: &str, value: &Option<String>, now: i64) -> anyhow::Result<Option<i64>> {
    value
        .as_deref()
        .map(|s| {
            parse_time(s, now).with_context(|| format!("--{flag} {s}: not a timestamp or duration"))
        })
        .transpose()
}

fn grep_of(pattern: &Option<String>) -> anyhow::Result<Option<Matcher>> {
    pattern
        .as_ref()
        .map(|p| {
            Matcher::new(&Search {
                pattern: p.clone(),
                mode: SearchMode::Regex,
            })
        })
        .transpose()
        .context("--grep")
}

fn level_of(level: &Option<String>) -> anyhow::Result<Option<Level>> {
    level
        .as_ref()
        .map(|l| Level::parse(l).with_context(|| format!("--level {l}: unknown level")))
        .transpose()
}

/// Log lines as compose prints them: `<service>-<n>  | ` prefixes padded to the longest name so
/// far, coloured per service on a terminal. `berthctl up` prints its attached logs with it too.
pub struct Printer<W: Write> {
    pub prefix: bool,
    pub timestamps: bool,
    pub color: bool,
    pub grep: Option<Matcher>,
    pub level: Option<Level>,
    pub width: usize,
    pub services: HashMap<String, &'static str>,
    pub out: W,
}

impl<W: Write> Printer<W> {
    /// The colour of a service's prefix: the next in compose's cycle when first seen.
    fn color_of(&mut self, service: &str) -> &'static str {
        let n = self.services.len();
        self.services
            .entry(service.to_owned())
            .or_insert(COLORS[n % COLORS.len()])
    }

    /// Compose's line when an attached container exits.
    pub fn exited(&mut self, name: &str, service: &str, code: i64) -> std::io::Result<()> {
        let name = short_name(name, service);
        if self.color {
            let c = self.color_of(service);
            write!(
                self.out,
                "\x1b[{c}m\r\x1b[K{name} exited with code {code}\n\x1b[0m"
            )
        } else {
            write!(self.out, "\r\x1b[K{name} exited with code {code}\n")
        }
    }

    pub fn print(&mut self, batch: &[Record]) -> std::io::Result<()> {
        // Pad to the longest name seen so far, as compose does; a batch's names count at once.
        for r in batch {
            self.width = self
                .width
                .max(short_name(&r.origin.name, &r.origin.service).len());
        }
        for r in batch {
            if (self.grep.is_some() || self.level.is_some()) && !self.wanted(&r.text) {
                continue;
            }
            if self.prefix {
                let name = short_name(&r.origin.name, &r.origin.service);
                let w = self.width + 1;
                if self.color {
                    let c = self.color_of(&r.origin.service);
                    write!(self.out, "\x1b[{c}m{name:<w$} |\x1b[0m ")?;
                } else {
                    write!(self.out, "{name:<w$} | ")?;
                }
            }
            if self.timestamps {
                write!(self.out, "{} ", format_rfc3339(r.ts))?;
            }
            self.out.write_all(&r.text)?;
            // Bare output joins a line's parts again, as the container wrote them; with a
            // prefix or a time, each part is a line of its own.
            if !r.partial || self.prefix || self.timestamps {
                self.out.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    /// Whether a line passes --grep and --level, judged on its text without escapes.
    fn wanted(&self, raw: &[u8]) -> bool {
        let stripped;
        let text = if logs::ansi::needs_strip(raw) {
            stripped = logs::ansi::strip(raw).text;
            &stripped[..]
        } else {
            raw
        };
        self.grep
            .as_ref()
            .is_none_or(|m| !m.find_all(text).is_empty())
            && self.level.is_none_or(|min| {
                let (l, _) = logs::level::detect(text);
                l != Level::Unknown && l >= min
            })
    }
}

/// `<service>-<n>`, as compose prefixes lines: the container name without the project.
pub fn short_name<'a>(container: &'a str, service: &str) -> &'a str {
    container
        .rfind(&format!("-{service}-"))
        .map_or(container, |i| &container[i + 1..])
}

/// A timestamp (RFC 3339, with or without a zone — UTC then), Unix seconds, or a duration
/// before `now` (`42m`, `1h30m`, `10s`), in nanoseconds since the epoch.
fn parse_time(s: &str, now: i64) -> anyhow::Result<i64> {
    if let Some(t) = parse_rfc3339(s).or_else(|| parse_rfc3339(&format!("{s}Z"))) {
        return Ok(t);
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1e9) as i64);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "h" => 3600e9,
            "m" => 60e9,
            "s" => 1e9,
            "ms" => 1e6,
            other => bail!("unknown unit {other:?}"),
        };
        total += value * unit;
        rest = &rest[u..];
    }
    Ok(now - total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        let now = 10_000 * 1_000_000_000;
        assert_eq!(parse_time("42s", now).unwrap(), now - 42_000_000_000);
        assert_eq!(
            parse_time("1h30m", now).unwrap(),
            now - 5400 * 1_000_000_000
        );
        assert_eq!(
            parse_time("1700000000", now).unwrap(),
            1_700_000_000 * 1_000_000_000
        );
        assert_eq!(
            parse_time("1970-01-01T00:00:02Z", now).unwrap(),
            2_000_000_000
        );
        assert_eq!(
            parse_time("1970-01-01T00:00:02", now).unwrap(),
            2_000_000_000
        );
        assert!(parse_time("yesterday", now).is_err());
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name("proj-web-1", "web"), "web-1");
        assert_eq!(short_name("my-web-app-web-2", "web"), "web-2");
        assert_eq!(short_name("custom", "web"), "custom");
    }
}
