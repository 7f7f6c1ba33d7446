//! Berth's desktop shell: the window, the tray icon and the IPC commands.
//!
//! The shell only translates between the engine (`berth-engine`) and the web UI (`ui/`): no Docker
//! logic lives here.

mod commands;
mod project;
mod tray;

use tauri::{Manager, WindowEvent};
use tracing_subscriber::EnvFilter;

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .init();

    tauri::Builder::default()
        // First, so a second launch hands over before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tray::show_window(app)
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_shell::init())
        .invoke_handler(tauri::generate_handler![
            commands::engine_status,
            commands::project
        ])
        .setup(|app| {
            app.manage(project::OpenProject::bundled_demo(app.handle())?);
            tray::create(app.handle())?;
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps Berth running in the tray; Quit is in the tray menu.
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.app_handle().tray_by_id(tray::ID).is_some()
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .run(tauri::generate_context!())
        .expect("Berth failed to start");
}
