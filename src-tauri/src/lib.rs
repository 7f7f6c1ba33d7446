//! Berth's desktop shell: the window, the tray icon and the IPC commands.
//!
//! The shell only translates between the engine (`berth-engine`) and the web UI (`ui/`): no Docker
//! logic lives here.

mod alerts;
#[macro_use]
mod commands;
mod error;
mod logview;
mod metrics;
mod navigation;
mod notify;
mod project;
mod session;
mod settings;
mod swarm;
mod terminal;
mod tray;
mod view;
mod watch;

use berth_engine::ProjectArgs;
use clap::Parser;
use tauri::{Manager, WindowEvent};
use tracing_subscriber::EnvFilter;

/// Has WebKitGTK paint the window on the CPU instead of through OpenGL compositing (its
/// default). Berth's page is text and tables; where no GPU is at hand (VMs, remote desktops,
/// Xvfb), compositing goes through Mesa's software GL, which took the web process from about 130
/// to 260 MiB and tripled its CPU while logs scroll (docs/benchmarks.md, "Desktop app"). Through
/// the environment, which the web process inherits, so it never composites: the view's
/// hardware-acceleration policy, set once the view exists, left the GL context and Mesa's threads
/// of its first frames in place (4–5 MiB, docs/benchmarks.md, "The web process"). Runs first,
/// while the process has one thread. WebKit's own `WEBKIT_FORCE_COMPOSITING_MODE=1` keeps
/// compositing on.
fn paint_in_software() {
    #[cfg(target_os = "linux")]
    {
        let forced =
            std::env::var("WEBKIT_FORCE_COMPOSITING_MODE").is_ok_and(|v| !v.is_empty() && v != "0");
        if !forced {
            let _ = webkit2gtk::glib::setenv("WEBKIT_DISABLE_COMPOSITING_MODE", "1", false);
        }
    }
}

/// Has JavaScriptCore run the page in its interpreter: the JIT tiers' code and profiles took
/// 10–18 MiB of the web process's heap for a page that only renders rows (docs/benchmarks.md,
/// "Memory after the cuts"). Nor does it keep compiled code for scripts it may see again: every
/// event the page gets is a script of its own, never repeated (1.4 MiB, "The main process after
/// a flood"). The web process inherits the environment when it spawns, so this runs first,
/// while the process has one thread. An option the user set is left as it is.
fn interpret_javascript() {
    #[cfg(target_os = "linux")]
    for option in ["JSC_useJIT", "JSC_useCodeCache"] {
        // `false`: a value already set stays.
        let _ = webkit2gtk::glib::setenv(option, "0", false);
    }
}

/// Has glibc's malloc give blocks of 128 KiB and more straight back to the system when they are
/// freed, and trim its heap's top as eagerly. By default the first threshold rises to the
/// largest block freed, so after a log flood the buffers' memory stayed in the allocator's
/// arenas: the idle main process held 43–53 MiB of anonymous memory after 100k lines, 40 with
/// this (docs/benchmarks.md, "The main process after a flood"). Runs first, on the one thread.
#[allow(unsafe_code)]
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets two of the allocator's parameters, before any other thread
    // could be allocating; a value it refuses leaves glibc's default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 10);
    }
}

/// `berth [-f FILE]… [-p NAME] [--project-directory DIR] [--env-file FILE] [--profile P]…`:
/// berthctl's project flags, with their meaning. None: the bundled demo stack.
#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "A desktop control panel for Docker Compose stacks"
)]
struct Launch {
    #[command(flatten)]
    project: ProjectArgs,
}

pub fn run() {
    return_freed_memory();
    interpret_javascript();
    paint_in_software();
    let launch = Launch::parse();
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        // GTK would panic with a backtrace; say what is missing instead.
        eprintln!(
            "error: Berth needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set.\n\
             On a machine without one, run it in a virtual X server: xvfb-run -a berth \
             (./run.sh does this for you)."
        );
        std::process::exit(1);
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .init();

    tauri::Builder::default()
        // First, so a second launch hands over before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tray::show_window(app)
        }))
        .plugin(navigation::guard())
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_shell::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(commands!(handler))
        .setup(move |app| {
            // Opening a project never starts it: that is the user's Start. Without flags, the
            // last project opened (whose files still exist), else the bundled demo.
            let config_dir = app.path().app_config_dir()?;
            let settings = settings::Settings::load(&config_dir);
            let open = if launch.project != ProjectArgs::default() {
                project::OpenProject::new(launch.project)?
            } else {
                match settings
                    .recent
                    .first()
                    .filter(|p| p.files.iter().all(|f| f.exists()))
                {
                    Some(last) => project::OpenProject::new(last.clone())?,
                    None => project::OpenProject::bundled_demo(app.handle())?,
                }
            };
            let history = berth_engine::logs::history::default_root();
            app.manage(commands::Berth::open(open, settings, config_dir, history));
            commands::projects::follow(app.handle());
            tray::create(app.handle())?;
            notify::watch(app.handle());
            notify::watch_lines(app.handle());
            notify::watch_swarm(app.handle());
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
        .build(tauri::generate_context!())
        .expect("Berth failed to start")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event
                && let Some(berth) = app.try_state::<commands::Berth>()
            {
                // The engine keeps an exec running after its client is gone: hang the
                // terminals' shells up before the process (and its runtime) ends.
                let closing = berth.terminals.close_all();
                let _ = tauri::async_runtime::block_on(tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    closing,
                ));
            }
        });
}
