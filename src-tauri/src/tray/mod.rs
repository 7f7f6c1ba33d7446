//! The tray icon: the shown stack's state at a glance (a coloured dot on the icon, the tooltip)
//! and its Start/Stop/Restart/Watch, then every compose project on the engine with its state,
//! Start/Stop, and Restart/Logs per service: how Berth is used with the window hidden.

mod act;
mod menu;

use std::sync::{Arc, Mutex};

use berth_engine::{Progress, StackStatus};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::commands::Berth;
use crate::view::{Action, ActionRequest};
use menu::{TrayMenu, project_id, service_id, watch_item};

pub const ID: &str = "berth";

/// The menu as last built: what a click's id names.
type Shown = Arc<Mutex<Option<TrayMenu>>>;

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let shown: Shown = Arc::default();
    let clicked = shown.clone();
    let mut tray = TrayIconBuilder::with_id(ID)
        .tooltip("Berth")
        .show_menu_on_left_click(false)
        .on_menu_event(move |app, event| match event.id.as_ref() {
            "toggle" => toggle_window(app),
            "quit" => app.exit(0),
            "up" => run(app, Action::Up),
            "stop" => run(app, Action::Stop),
            "restart" => run(app, Action::Restart),
            "watch" => toggle_watch(app),
            "more" => show_window(app),
            id => {
                let click = (clicked.lock().expect("tray menu").as_ref()).and_then(|m| m.click(id));
                if let Some(click) = click {
                    act::act(app, click);
                }
            }
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
    tauri::async_runtime::spawn(follow(app.clone(), tray, base, shown));
    Ok(())
}

/// Follows the shown project's view and the engine's projects, always (the window may be
/// hidden), and rebuilds the menu when what it says changes.
async fn follow<R: Runtime>(
    app: AppHandle<R>,
    tray: TrayIcon<R>,
    base: Option<Image<'static>>,
    shown: Shown,
) {
    let berth = app.state::<Berth>();
    let (mut views, mut listings) = (berth.watch(), berth.listing());
    loop {
        let view = views.borrow_and_update().clone();
        // Not listed (yet, or the engine is away): the shown project alone.
        let listing = match &*listings.borrow_and_update() {
            Some(Ok(projects)) => projects.clone(),
            _ => Vec::new(),
        };
        let model = TrayMenu::new(&view, &listing);
        if shown.lock().expect("tray menu").as_ref() != Some(&model) {
            if let Err(err) = update(&app, &tray, base.as_ref(), &model) {
                tracing::warn!("could not update the tray: {err}");
            }
            *shown.lock().expect("tray menu") = Some(model);
        }
        let changed = tokio::select! {
            changed = views.changed() => changed,
            changed = listings.changed() => changed,
        };
        if changed.is_err() {
            return;
        }
    }
}

fn update<R: Runtime>(
    app: &AppHandle<R>,
    tray: &TrayIcon<R>,
    base: Option<&Image<'static>>,
    model: &TrayMenu,
) -> tauri::Result<()> {
    tray.set_menu(Some(build(app, model)?))?;
    tray.set_tooltip(Some(&model.tooltip))?;
    match base {
        Some(base) => tray.set_icon(Some(badged(base, model.status))),
        None => Ok(()),
    }
}

fn build<R: Runtime>(app: &AppHandle<R>, model: &TrayMenu) -> tauri::Result<Menu<R>> {
    let item = |id: &str, text: &str, enabled: bool| {
        MenuItem::with_id(app, id, text, enabled, None::<&str>)
    };
    let idle = model.idle;
    let mut items: Vec<Box<dyn IsMenuItem<R>>> = vec![
        Box::new(item("status", &model.tooltip, false)?),
        Box::new(item("up", "Start stack", idle)?),
        Box::new(item("stop", "Stop stack", idle)?),
        Box::new(item("restart", "Restart stack", idle)?),
    ];
    let (watchable, watching) = model.watch;
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
    for (i, project) in model.projects.iter().enumerate() {
        let mut entries: Vec<Box<dyn IsMenuItem<R>>> = vec![
            Box::new(item(&project_id(i, "start"), "Start", project.start)?),
            Box::new(item(&project_id(i, "stop"), "Stop", project.stop)?),
            Box::new(item(&project_id(i, "open"), "Open in window", true)?),
            Box::new(PredefinedMenuItem::separator(app)?),
        ];
        for (j, service) in project.services.iter().enumerate() {
            let restart = item(&service_id(i, j, "restart"), "Restart", true)?;
            let logs = item(&service_id(i, j, "logs"), "Logs", true)?;
            entries.push(Box::new(Submenu::with_items(
                app,
                &service.title,
                true,
                &[&restart, &logs],
            )?));
        }
        let refs: Vec<&dyn IsMenuItem<R>> = entries.iter().map(|e| e.as_ref()).collect();
        items.push(Box::new(Submenu::with_items(
            app,
            &project.title,
            true,
            &refs,
        )?));
    }
    if model.more > 0 {
        let more = format!("{} more in the window…", model.more);
        items.push(Box::new(item("more", &more, true)?));
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
    use super::*;

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
}
