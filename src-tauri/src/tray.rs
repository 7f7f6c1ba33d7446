//! The tray icon: the stack's state at a glance (tooltip and a line per service) and its
//! Start/Stop/Restart, with the window hidden.

use berth_engine::Progress;
use tauri::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::commands::Berth;
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
    if let Some(icon) = app.default_window_icon() {
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
            let lines = menu_lines(&view);
            if shown.as_ref() != Some(&lines) {
                let update = menu(&app, &view, &lines).and_then(|menu| {
                    tray.set_menu(Some(menu))?;
                    tray.set_tooltip(Some(&lines[0]))
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
    let name = match &view.project {
        crate::project::ProjectStatus::Loaded(p) => p.name.as_str(),
        crate::project::ProjectStatus::Invalid { .. } => "invalid project",
    };
    let mut lines = vec![format!("Berth: {name} {}", view.status.label())];
    lines.extend(view.services.iter().map(service_line));
    lines
}

fn service_line(row: &ServiceRow) -> String {
    let mark = if row.problem {
        "✖"
    } else if row.running > 0 {
        "●"
    } else {
        "○"
    };
    let health = if row.health.is_empty() {
        String::new()
    } else {
        format!(" ({})", row.health)
    };
    format!("{mark} {}: {}{health}", row.name, row.state)
}

fn menu<R: Runtime>(
    app: &AppHandle<R>,
    view: &StackView,
    lines: &[String],
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
        Box::new(PredefinedMenuItem::separator(app)?),
    ];
    for (i, line) in lines[1..].iter().enumerate() {
        items.push(Box::new(item(&format!("service-{i}"), line, false)?));
    }
    items.push(Box::new(PredefinedMenuItem::separator(app)?));
    items.push(Box::new(item("toggle", "Show/Hide window", true)?));
    items.push(Box::new(item("quit", "Quit Berth", true)?));
    let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(|i| i.as_ref()).collect();
    Menu::with_items(app, &refs)
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
    use super::*;
    use crate::project::{ProjectStatus, ProjectView};

    #[test]
    fn the_tooltip_names_the_project_and_status_and_each_service_gets_a_line() {
        let mut view = StackView::new(ProjectStatus::Loaded(ProjectView {
            name: "shop".into(),
            files: vec![],
            profiles: vec![],
            active_profiles: vec![],
            services: vec![],
        }));
        view.services.push(ServiceRow {
            name: "db".into(),
            image: "mongo:7".into(),
            desired: berth_engine::Desired::Running { replicas: 1 },
            state: "running".into(),
            running: 1,
            replicas: 1,
            health: "healthy".into(),
            health_log: vec![],
            started_at: String::new(),
            restart_count: 0,
            exit_code: None,
            ports: vec![],
            problem: false,
        });
        assert_eq!(
            menu_lines(&view),
            ["Berth: shop unknown", "● db: running (healthy)"]
        );
    }
}
