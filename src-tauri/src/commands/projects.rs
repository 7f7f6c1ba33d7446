//! The projects list: every compose project on the engine, kept current while the window is
//! shown, and opening one another tool started with the files and profiles it runs with.

use berth_engine::ProjectSummary;
use berth_engine::project_list::{Listing, ProjectList};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, State};
use tokio::sync::watch;
use ts_rs::TS;

use super::{Berth, Close, replace};
use crate::error::{Error, ErrorKind};
use crate::project::OpenProject;

/// The engine's projects as last listed, or why they could not be.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum ProjectsView {
    Listed { projects: Vec<ProjectSummary> },
    Unavailable { reason: String },
}

/// Sends the engine's projects once listed, then after each change, until the window stops
/// watching (it does when hidden) or another project is opened (the window asks again).
#[tauri::command]
pub fn watch_projects(berth: State<'_, Berth>, on_projects: Channel<ProjectsView>) {
    let task = tauri::async_runtime::spawn(forward(berth.listing(), on_projects));
    replace(&berth.projects_feed, task);
}

#[tauri::command]
pub fn unwatch_projects(berth: State<'_, Berth>) {
    if let Some(task) = berth.projects_feed.lock().expect("feed lock").take() {
        task.abort();
    }
}

async fn forward(
    mut listings: watch::Receiver<Option<Listing>>,
    on_projects: Channel<ProjectsView>,
) {
    loop {
        let listing = listings.borrow_and_update().clone();
        if let Some(listing) = listing {
            let view = match listing {
                Ok(projects) => ProjectsView::Listed { projects },
                Err(reason) => ProjectsView::Unavailable { reason },
            };
            if on_projects.send(view).is_err() {
                return;
            }
        }
        if listings.changed().await.is_err() {
            return;
        }
    }
}

/// Follows the projects of the shown project's engine into [`Berth::listing`] for as long as
/// the app runs: one listing for the window and the tray (which uses it hidden too), followed
/// anew when the shown project's session talks to another engine (another context).
pub fn follow<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let berth = app.state::<Berth>();
        let mut views = berth.watch();
        let mut followed: Option<(String, ProjectList)> = None;
        loop {
            let engine = berth.session().engine();
            if engine.as_ref().map(|e| e.endpoint()) != followed.as_ref().map(|(e, _)| e.as_str()) {
                followed = engine.map(|e| (e.endpoint().to_owned(), ProjectList::follow(e)));
                berth.projects.send_replace(None);
            }
            let next = async {
                match &mut followed {
                    Some((_, list)) => list.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = views.changed() => if changed.is_err() { return },
                Some(listing) = next => { berth.projects.send_replace(Some(listing)); }
            }
        }
    });
}

/// Opens project `name` of the engine as its containers say it was started: the same compose
/// files, project directory, env files and profiles; when those files are gone, made of its
/// containers (the window says which files are missing). One kept warm is shown as it is.
#[tauri::command]
pub async fn open_listed_project(berth: State<'_, Berth>, name: String) -> Result<(), Error> {
    open_listed(&berth, &name).await
}

/// [`open_listed_project`], for the window and the tray alike.
pub async fn open_listed(berth: &Berth, name: &str) -> Result<(), Error> {
    if berth.show_warm(name) {
        return Ok(());
    }
    let engine = (berth.session().engine()).ok_or_else(|| {
        Error::not_ready("Berth is not connected to a Docker engine yet; it keeps trying.")
    })?;
    let origin = berth_engine::project_origin(&engine, name).await?;
    if origin.services.is_empty() {
        return Err(Error::invalid(format!(
            "The engine has no containers of compose project {name:?} now."
        )));
    }
    let open = OpenProject::from_origin(&origin).map_err(|e| {
        Error::new(
            ErrorKind::File,
            format!("Project {name}, from the files its containers name: {e}"),
        )
    })?;
    berth.open_project(open, Close::None);
    Ok(())
}

/// A service whose logs the tray asked the window to show, once `project` is shown.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct LogRequest {
    pub project: String,
    pub service: String,
}

/// Where the tray's Logs clicks go: the window filters its log viewer to the service.
#[tauri::command]
pub fn watch_log_requests(berth: State<'_, Berth>, on_request: Channel<LogRequest>) {
    *berth.log_requests.lock().expect("log requests") = Some(on_request);
}
