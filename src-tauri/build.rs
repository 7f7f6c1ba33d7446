fn main() {
    // Listing the app's commands makes Tauri generate a permission for each, so a window can only
    // call the commands its capability grants (capabilities/main.json).
    let manifest = tauri_build::AppManifest::new().commands(&["engine_status"]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("failed to run tauri-build");
}
