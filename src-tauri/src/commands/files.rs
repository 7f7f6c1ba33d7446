//! A running service's files, for the Files panel: a directory's entries, and a file saved to
//! a place the user picks.

use berth_engine::files::{DirListing, FilesError};
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::DialogExt;

use super::{Berth, ask};
use crate::error::{Error, ErrorKind};

/// Directory `path` of the open project's service `service` (its running container).
#[tauri::command]
pub async fn files_list(
    berth: State<'_, Berth>,
    service: String,
    path: String,
) -> Result<DirListing, Error> {
    let stack = berth.session().stack()?;
    stack
        .list_dir(&service, &path)
        .await
        .map_err(|e| error(e, &service))
}

/// Saves file `path` of `service`'s container where the user picks in a save dialog; the path
/// written, or `None` when they cancel.
#[tauri::command]
pub async fn files_save<R: Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    service: String,
    path: String,
) -> Result<Option<String>, Error> {
    let stack = berth.session().stack()?;
    let name = path.rsplit('/').next().unwrap_or_default().to_owned();
    let picked = ask(|done| {
        app.dialog()
            .file()
            .set_title(format!("Save {name} from {service}"))
            .set_file_name(&name)
            .save_file(done)
    });
    let Some(dest) = picked.await else {
        return Ok(None);
    };
    let dest = dest.into_path().map_err(|e| Error::file(e.to_string()))?;
    stack
        .save_file(&service, &path, &dest)
        .await
        .map_err(|e| error(e, &service))?;
    Ok(Some(dest.display().to_string()))
}

fn error(e: FilesError, service: &str) -> Error {
    let message = e.to_string();
    let with_service = |error: Error| Error {
        service: Some(service.to_owned()),
        ..error
    };
    match e {
        FilesError::Stack(e) => e.into(),
        FilesError::Write { .. } => Error::file(message),
        FilesError::NotAbsolute { .. } | FilesError::NotAFile { .. } => {
            with_service(Error::invalid(message))
        }
        FilesError::NoTool { .. }
        | FilesError::List { .. }
        | FilesError::Read { .. }
        | FilesError::NoSuchFile { .. }
        | FilesError::TimedOut { .. } => with_service(Error::new(ErrorKind::Stack, message)),
    }
}
