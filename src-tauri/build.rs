fn main() {
    // generate_context! embeds ui/dist into the binary, but a proc macro cannot tell cargo about
    // the files it reads: without this line a rebuilt UI would leave a stale app binary.
    println!("cargo:rerun-if-changed=../ui/dist");
    // Listing the app's commands makes Tauri generate a permission for each, so a window can only
    // call the commands its capability grants (capabilities/main.json).
    let manifest = tauri_build::AppManifest::new().commands(&[
        "watch_stack",
        "run_action",
        "cancel_action",
        "logs_set_view",
        "logs_watch",
        "logs_unwatch",
        "logs_window",
        "logs_find",
        "logs_line_text",
        "logs_export",
        "settings",
        "save_settings",
        "open_project_dialog",
        "open_recent",
        "set_profiles",
        "watch_metrics",
        "unwatch_metrics",
        "probe_again",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("failed to run tauri-build");
}
