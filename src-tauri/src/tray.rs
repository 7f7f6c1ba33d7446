//! The tray icon: the stack's state at a glance (a coloured dot on the icon, the tooltip, a line
//! per service) and its Start/Stop/Restart, with the window hidden.

use berth_engine::Progress;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::commands::Berth;
use berth_engine::StackStatus;

use crate::view::{Action, ActionRequest, ServiceRow, StackView};

pub const ID: &str = "berth";

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let mut tray = TrayIconBuilder::with_id(ID)
        .tooltip("Berth")
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "toggle" => toggle_window(app),
            "quit" => app.exit(0),
            "up" => run(app, Action::Up),
            "stop" => run(app, Action::Stop),
            "restart" => run(app, Action::Restart),
            "watch" => toggle_watch(app),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                toggle_window(tray.app_handle());
            }
        });
    let base = app.default_window_icon().map(|i| i.clone().to_owned());
    if let Some(icon) = &base {
        tray = tray.icon(icon.clone());
    }
    let tray = tray.build(app)?;
    // Follow the view: a new menu only when what it says changes.
    let mut views = app.state::<Berth>().watch();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut shown = None;
        loop {
            let view = views.borrow_and_update().clone();
            let lines = (menu_lines(&view), watch_item(&view));
            if shown.as_ref() != Some(&lines) {
                let update = menu(&app, &view, &lines.0, lines.1).and_then(|menu| {
                    tray.set_menu(Some(menu))?;
                    tray.set_tooltip(Some(&lines.0[0]))?;
                    match &base {
                        Some(base) => tray.set_icon(Some(badged(base, view.status))),
                        None => Ok(()),
                    }
                });
                if let Err(err) = update {
                    tracing::warn!("could not update the tray: {err}");
                }
                shown = Some(lines);
            }
            if views.changed().await.is_err() {
                return;
            }
        }
    });
    Ok(())
}

/// The tooltip, then a line per service.
fn menu_lines(view: &StackView) -> Vec<String> {
    let name = view
        .project
        .loaded()
        .map_or("invalid project", |p| p.name.as_str());
    let mut lines = vec![format!("Berth: {name} {}", view.status.label())];
    lines.extend(view.services.iter().map(service_line));
    lines
}

/// The service's label (with its health), as the window and `berthctl ps` word it, and what
/// watch mode last did for it.
fn service_line(row: &ServiceRow) -> String {
    let mark = if row.status.problem.is_some() {
        "✖"
    } else if row.status.running > 0 {
        "●"
    } else {
        "○"
    };
    let watch = row.watch.as_ref().map(|w| format!(" · {}", w.summary()));
    format!(
        "{mark} {}: {}{}",
        row.name,
        row.status.summary(),
        watch.unwrap_or_default()
    )
}

/// The Watch item: whether any service can be watched, and whether any is.
fn watch_item(view: &StackView) -> (bool, bool) {
    let watchable = view.services.iter().any(|r| r.watchable);
    (watchable, view.services.iter().any(|r| r.watch.is_some()))
}

fn menu<R: Runtime>(
    app: &AppHandle<R>,
    view: &StackView,
    lines: &[String],
    (watchable, watching): (bool, bool),
) -> tauri::Result<Menu<R>> {
    let idle = view.action.is_none();
    let item = |id: &str, text: &str, enabled: bool| {
        MenuItem::with_id(app, id, text, enabled, None::<&str>)
    };
    let mut items: Vec<Box<dyn IsMenuItem<R>>> = vec![
        Box::new(item("status", &lines[0], false)?),
        Box::new(item("up", "Start stack", idle)?),
        Box::new(item("stop", "Stop stack", idle)?),
        Box::new(item("restart", "Restart stack", idle)?),
    ];
    if watchable {
        items.push(Box::new(CheckMenuItem::with_id(
            app,
            "watch",
            "Watch files",
            idle,
            watching,
            None::<&str>,
        )?));
    }
    items.push(Box::new(PredefinedMenuItem::separator(app)?));
    for (i, line) in lines[1..].iter().enumerate() {
        items.push(Box::new(item(&format!("service-{i}"), line, false)?));
    }
    items.push(Box::new(PredefinedMenuItem::separator(app)?));
    items.push(Box::new(item("toggle", "Show/Hide window", true)?));
    items.push(Box::new(item("quit", "Quit Berth", true)?));
    let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(|i| i.as_ref()).collect();
    Menu::with_items(app, &refs)
}

/// The app icon with a dot in its lower right corner in the status's colour: none when stopped
/// or unknown, amber while starting or stopping, green when healthy, red when degraded.
fn badged(base: &Image<'_>, status: StackStatus) -> Image<'static> {
    let (w, h) = (base.width(), base.height());
    let mut rgba = base.rgba().to_vec();
    let colour = match status {
        StackStatus::Unknown | StackStatus::Stopped => None,
        StackStatus::Starting | StackStatus::Stopping => Some([0xf0, 0xa0, 0x20]),
        StackStatus::Healthy => Some([0x2e, 0xb8, 0x5c]),
        StackStatus::Degraded => Some([0xe0, 0x3e, 0x2f]),
    };
    if let Some([r, g, b]) = colour {
        let radius = w.min(h) as f32 * 0.22;
        let (cx, cy) = (w as f32 - radius - 1.0, h as f32 - radius - 1.0);
        for y in 0..h {
            for x in 0..w {
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                let i = ((y * w + x) * 4) as usize;
                if d <= radius {
                    rgba[i..i + 4].copy_from_slice(&[r, g, b, 0xff]);
                } else if d <= radius + 1.5 {
                    // A light ring keeps the dot apart from the icon.
                    rgba[i..i + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
                }
            }
        }
    }
    Image::new_owned(rgba, w, h)
}

fn run<R: Runtime>(app: &AppHandle<R>, action: Action) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let request = ActionRequest {
            action,
            services: Vec::new(),
        };
        // The window shows the outcome through the view; the tray has nowhere to print.
        if let Err(err) = app.state::<Berth>().run(request, Progress::default()).await {
            tracing::warn!("{err}");
        }
    });
}

/// Watch on for every service with `develop.watch` when none is watched, else off for all.
fn toggle_watch<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let berth = app.state::<Berth>();
        let on = !watch_item(&berth.watch().borrow()).1;
        if let Err(err) = berth.set_watch(Vec::new(), on, Progress::default()).await {
            tracing::warn!("{err}");
        }
    });
}

fn toggle_window<R: Runtime>(app: &AppHandle<R>) {
    let visible = app
        .get_webview_window("main")
        .is_some_and(|window| window.is_visible().unwrap_or(false));
    if visible {
        with_window(app, |window| window.hide());
    } else {
        show_window(app);
    }
}

/// Shows and focuses the window: from the tray, or when Berth is launched a second time.
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    with_window(app, |window| {
        window.unminimize()?;
        window.show()?;
        window.set_focus()
    });
}

fn with_window<R: Runtime>(
    app: &AppHandle<R>,
    action: impl FnOnce(&tauri::WebviewWindow<R>) -> tauri::Result<()>,
) {
    if let Some(window) = app.get_webview_window("main")
        && let Err(err) = action(&window)
    {
        tracing::warn!("could not change the window: {err}");
    }
}

#[cfg(test)]
mod tests {
    use berth_engine::{ContainerState, Desired, Health};

    use super::*;
    use crate::view::tests::{container, project, snapshot, version};

    #[test]
    fn the_icon_gets_a_dot_in_the_status_colour() {
        let base = Image::new_owned(vec![0; 32 * 32 * 4], 32, 32);
        let pixel = |img: &Image<'_>, x: u32, y: u32| {
            let i = ((y * 32 + x) * 4) as usize;
            img.rgba()[i..i + 4].to_vec()
        };
        let healthy = badged(&base, StackStatus::Healthy);
        assert_eq!(pixel(&healthy, 24, 24), [0x2e, 0xb8, 0x5c, 0xff]);
        assert_eq!(pixel(&healthy, 4, 4), [0, 0, 0, 0], "the rest is the icon");
        assert_eq!(
            pixel(&badged(&base, StackStatus::Degraded), 24, 24)[0],
            0xe0
        );
        assert_eq!(badged(&base, StackStatus::Stopped).rgba(), base.rgba());
    }

    #[test]
    fn the_tooltip_names_the_project_and_status_and_each_service_gets_a_line() {
        let mut view = StackView::new(project(&["db", "web"]));
        let db = container("db", ContainerState::Running, Some(Health::Healthy), 0);
        view.refresh(None, Some(&snapshot(vec![db], &["db", "web"])));
        assert_eq!(
            menu_lines(&view),
            [
                "Berth: p unknown",
                "● db: running (healthy)",
                "○ web: not created"
            ]
        );
    }

    #[test]
    fn a_stop_you_asked_for_reads_stopped_as_in_the_window() {
        let mut web = container("web", ContainerState::Exited, None, 143);
        web.stop_requested = true;
        let mut s = snapshot(vec![web], &["web"]);
        s.services.get_mut("web").unwrap().desired = Desired::Stopped { replicas: 1 };
        let mut view = StackView::new(project(&["web"]));
        view.refresh(Some(&version()), Some(&s));
        assert_eq!(view.services[0].status.label, "stopped");
        assert_eq!(menu_lines(&view), ["Berth: p stopped", "○ web: stopped"]);
    }

    #[test]
    fn a_watched_service_line_says_what_watch_mode_did_and_the_menu_has_watch() {
        let mut view = StackView::new(project(&["web"]));
        view.refresh(None, Some(&snapshot(vec![], &["web"])));
        assert_eq!(watch_item(&view), (false, false), "nothing to watch");
        view.services[0].watchable = true;
        assert_eq!(watch_item(&view), (true, false));
        view.services[0].watch = Some(crate::view::WatchState::Synced {
            files: 1,
            at: String::new(),
        });
        assert_eq!(watch_item(&view), (true, true));
        assert_eq!(menu_lines(&view)[1], "○ web: not created · synced 1 file");
    }
}
