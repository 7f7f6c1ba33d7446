//! Opening projects (a file picker, the recent ones), their profiles, and the settings.

use std::sync::atomic::Ordering;

use berth_engine::{ContextInfo, EngineChoice, ProjectArgs};
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

use super::{Berth, Close, ask};
use crate::error::{Error, ErrorKind};
use crate::settings::{Settings, SettingsChange};

#[tauri::command]
pub fn settings(berth: State<'_, Berth>) -> Settings {
    berth.settings.lock().expect("settings lock").clone()
}

/// Saves what the page may change of the settings and reopens the project with them (the
/// projects kept warm were opened with the old ones: they are closed). The recent
/// projects are not the page's to write (it only picks among them, `open_recent`), and another
/// engine endpoint takes the user's yes in a native dialog: the page alone must not be able to
/// hand the stack, its files and its secrets to an engine of its choosing.
#[tauri::command]
pub async fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    change: SettingsChange,
) -> Result<(), Error> {
    let current = berth.settings.lock().expect("settings lock").clone();
    let settings = change.apply(&current);
    settings.check().map_err(Error::invalid)?;
    if settings.engine_context != current.engine_context
        && !settings.engine_context.is_empty()
        && !(berth_engine::contexts().map_err(Error::from)?)
            .iter()
            .any(|c| c.name == settings.engine_context)
    {
        return Err(Error::invalid(format!(
            "There is no Docker context {:?}: docker context ls lists them.",
            settings.engine_context
        )));
    }
    if settings.engine() != current.engine() {
        if berth.confirming.swap(true, Ordering::SeqCst) {
            return Err(Error::new(
                ErrorKind::NotReady,
                "Another change of the Docker endpoint is waiting for your answer.",
            ));
        }
        let confirmed = confirm_endpoint(&app, &settings.engine()).await;
        berth.confirming.store(false, Ordering::SeqCst);
        if !confirmed {
            return Err(Error::new(
                ErrorKind::Cancelled,
                "Nothing was saved: the new Docker endpoint was not confirmed.",
            ));
        }
    }
    {
        // Applied to the settings as they are now: the dialog may have stayed open while a
        // project was opened or the recent list changed.
        let mut now = berth.settings.lock().expect("settings lock");
        let settings = change.apply(&now);
        settings.save(&berth.config_dir).map_err(Error::file)?;
        *now = settings;
    }
    berth.switch(berth.session().project().args().clone(), Close::All)
}

/// Asks the user, in a native dialog the page cannot answer, whether to use `engine`.
async fn confirm_endpoint<R: Runtime>(app: &AppHandle<R>, engine: &EngineChoice) -> bool {
    let host = match engine {
        EngineChoice::Context(name) => berth_engine::contexts()
            .unwrap_or_default()
            .into_iter()
            .find(|c| &c.name == name)
            .map(|c| format!(" ({})", c.host)),
        _ => None,
    };
    let engine = format!("{engine}{}", host.unwrap_or_default());
    let answer = ask(|done| {
        let mut dialog = app
            .dialog()
            .message(format!(
                "Berth will run this project's containers on {engine}, and send it the \
                 project's files and settings.\n\nWhoever runs that engine sees them and can \
                 run anything there: connect only to an engine you trust."
            ))
            .title("Connect Berth to another Docker engine?")
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                "Connect".into(),
                "Cancel".into(),
            ));
        if let Some(window) = app.get_webview_window("main") {
            dialog = dialog.parent(&window);
        }
        dialog.show(move |yes| done(yes.then_some(())))
    });
    answer.await.is_some()
}

/// Opens compose files the user picks (the first is the project's file, the others override
/// it, as with `-f`); `false` when they cancel.
#[tauri::command]
pub async fn open_project_dialog<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
) -> Result<bool, Error> {
    let picked = ask(|done| {
        app.dialog()
            .file()
            .set_title("Open a compose file (and its override files)")
            .add_filter("Compose files", &["yaml", "yml"])
            .pick_files(done)
    });
    let Some(paths) = picked.await else {
        return Ok(false);
    };
    let files = paths
        .into_iter()
        .map(|p| p.into_path().map_err(|e| Error::file(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    berth.switch(
        ProjectArgs {
            files,
            ..ProjectArgs::default()
        },
        Close::None,
    )?;
    Ok(true)
}

/// The Docker contexts, as `docker context ls` lists them.
#[tauri::command]
pub fn docker_contexts() -> Result<Vec<ContextInfo>, Error> {
    Ok(berth_engine::contexts()?)
}

/// Reopens the recent project at `index` (as `settings().recent` lists them).
#[tauri::command]
pub fn open_recent(berth: State<'_, Berth>, index: u32) -> Result<(), Error> {
    let recent = berth.settings.lock().expect("settings lock").recent.clone();
    let args = recent
        .get(index as usize)
        .cloned()
        .ok_or_else(|| Error::invalid(format!("There is no recent project number {index}.")))?;
    berth.switch(args, Close::None)
}

/// Reopens the project with these profiles active; only profiles its services name.
#[tauri::command]
pub fn set_profiles(berth: State<'_, Berth>, profiles: Vec<String>) -> Result<(), Error> {
    let known = berth
        .view
        .borrow()
        .project
        .loaded()
        .map(|p| p.profiles.clone())
        .unwrap_or_default();
    if let Some(unknown) = profiles.iter().find(|p| !known.contains(p)) {
        return Err(Error::invalid(format!(
            "The project has no profile {unknown:?}."
        )));
    }
    let mut args = berth.session().project().args().clone();
    args.profiles = profiles;
    berth.switch(args, Close::Shown)
}
