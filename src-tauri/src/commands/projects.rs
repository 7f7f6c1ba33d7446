//! The projects list: every compose project on the engine, kept current while the window is
//! shown, and opening one another tool started with the files and profiles it runs with.

use std::sync::Arc;

use berth_engine::ProjectSummary;
use berth_engine::project_list::ProjectList;
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;
use tokio::sync::watch;
use ts_rs::TS;

use super::{Berth, Close, replace};
use crate::error::{Error, ErrorKind};
use crate::project::OpenProject;
use crate::session::Session;
use crate::view::StackView;

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
    let task = tauri::async_runtime::spawn(forward(berth.session(), berth.watch(), on_projects));
    replace(&berth.projects_feed, task);
}

#[tauri::command]
pub fn unwatch_projects(berth: State<'_, Berth>) {
    if let Some(task) = berth.projects_feed.lock().expect("feed lock").take() {
        task.abort();
    }
}

async fn forward(
    session: Arc<Session>,
    mut views: watch::Receiver<StackView>,
    on_projects: Channel<ProjectsView>,
) {
    // The session's engine, once it answers (which the view then says).
    let engine = loop {
        if let Some(engine) = session.engine() {
            break engine;
        }
        if views.changed().await.is_err() {
            return;
        }
    };
    drop((session, views));
    let mut list = ProjectList::follow(engine);
    while let Some(listing) = list.next().await {
        let view = match listing {
            Ok(projects) => ProjectsView::Listed { projects },
            Err(reason) => ProjectsView::Unavailable { reason },
        };
        if on_projects.send(view).is_err() {
            return;
        }
    }
}

/// Opens project `name` of the engine as its containers say it was started: the same compose
/// files, project directory, env files and profiles; when those files are gone, made of its
/// containers (the window says which files are missing). One kept warm is shown as it is.
#[tauri::command]
pub async fn open_listed_project(berth: State<'_, Berth>, name: String) -> Result<(), Error> {
    if berth.show_warm(&name) {
        return Ok(());
    }
    let engine = (berth.session().engine()).ok_or_else(|| {
        Error::not_ready("Berth is not connected to a Docker engine yet; it keeps trying.")
    })?;
    let origin = berth_engine::project_origin(&engine, &name).await?;
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
