//! A minimal Tauri v2 app: one window showing a static page, nothing else. It is the floor any
//! Tauri app on WebKitGTK starts from; `cargo bench -p berth-tests --bench app` measures Berth's
//! memory and first paint against it in the same run. Same tauri version and features as Berth.

fn main() {
    if let Err(err) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("berth-hello: {err}");
        std::process::exit(1);
    }
}
