//! The tray icon: a way to reach Berth while its window is hidden.

use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

pub const ID: &str = "berth";

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let toggle = MenuItem::with_id(app, "toggle", "Show/Hide window", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Berth", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&toggle, &quit])?;
    let mut tray = TrayIconBuilder::with_id(ID)
        .tooltip("Berth")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "toggle" => toggle_window(app),
            "quit" => app.exit(0),
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
    tray.build(app)?;
    Ok(())
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
