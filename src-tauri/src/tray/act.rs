//! What the tray's project and service entries do. An opened project (shown or warm) acts
//! through its session, as the window does; any other through the engine, on the containers
//! its labels name, as `berthctl -p NAME` does (its files may be gone). The names come from the
//! menu, which lists only the engine's projects and the shown one.

use berth_engine::{Progress, Stack, project_origin};
use tauri::{AppHandle, Manager, Runtime};

use super::menu::Click;
use super::show_window;
use crate::alerts::Alert;
use crate::commands::Berth;
use crate::commands::projects::open_listed;
use crate::view::{Action, ActionRequest};

pub fn act<R: Runtime>(app: &AppHandle<R>, click: Click) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let berth = app.state::<Berth>();
        let (project, service, doing) = match &click {
            Click::Start { project } => (project, None, "start"),
            Click::Stop { project } => (project, None, "stop"),
            Click::Open { project } => (project, None, "open"),
            Click::Restart { project, service } => (project, Some(service), "restart"),
            Click::Logs { project, service } => (project, Some(service), "show the logs of"),
        };
        let done = match &click {
            Click::Start { .. } => lifecycle(&berth, project, Action::Up, None).await,
            Click::Stop { .. } => lifecycle(&berth, project, Action::Stop, None).await,
            Click::Restart { service, .. } => {
                lifecycle(&berth, project, Action::Restart, Some(service)).await
            }
            Click::Open { .. } => show(&app, &berth, project).await,
            Click::Logs { service, .. } => {
                let shown = show(&app, &berth, project).await;
                berth.request_logs(project, service);
                shown
            }
        };
        if let Err(why) = done {
            let what = match service {
                Some(service) => format!("{project}: {service}"),
                None => project.clone(),
            };
            tracing::warn!("the tray could not {doing} {what}: {why}");
            let alert = Alert {
                title: format!("Berth could not {doing} {what}"),
                body: why,
                service: service.cloned().unwrap_or_default(),
            };
            crate::notify::show(&app, &alert, |app| show_window(app));
        }
    });
}

/// Start (`Up`), Stop or Restart `project` (or its `service`).
async fn lifecycle(
    berth: &Berth,
    project: &str,
    action: Action,
    service: Option<&String>,
) -> Result<(), String> {
    let services: Vec<String> = service.into_iter().cloned().collect();
    let progress = Progress::default();
    if let Some(session) = berth.session_of(project) {
        let request = ActionRequest { action, services };
        return session.run(request, progress).await.map_err(|e| e.message);
    }
    let engine = (berth.session().engine())
        .ok_or("Berth is not connected to a Docker engine yet; it keeps trying.")?;
    let origin = project_origin(&engine, project)
        .await
        .map_err(|e| e.to_string())?;
    if origin.services.is_empty() {
        return Err(format!("The engine has no containers of {project} now."));
    }
    let stack = Stack::new(engine, origin.project()?);
    let done = match action {
        // Not opened: its existing containers, as `berthctl -p NAME start`.
        Action::Up => stack.start(&services, &progress).await,
        Action::Stop => stack.stop(&services, &progress).await,
        Action::Restart => stack.restart(&services, &progress).await,
        Action::Down | Action::Rebuild => unreachable!("the tray offers no {action:?}"),
    };
    done.map_err(|e| e.to_string())
}

/// Shows the window on `project`.
async fn show<R: Runtime>(app: &AppHandle<R>, berth: &Berth, project: &str) -> Result<(), String> {
    let shown = berth
        .watch()
        .borrow()
        .project
        .loaded()
        .map(|p| p.name.clone());
    if shown.as_deref() != Some(project) {
        open_listed(berth, project).await.map_err(|e| e.message)?;
    }
    show_window(app);
    Ok(())
}
