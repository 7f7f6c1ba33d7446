// The app's commands: the one list, shared with the crate (src/commands/list.rs).
include!("src/commands/list.rs");

macro_rules! names {
    ($($module:ident::$name:ident),* $(,)?) => {
        [$(stringify!($name)),*]
    };
}

fn main() {
    // generate_context! embeds ui/dist into the binary, but a proc macro cannot tell cargo about
    // the files it reads: without this line a rebuilt UI would leave a stale app binary.
    println!("cargo:rerun-if-changed=../ui/dist");
    println!("cargo:rerun-if-changed=src/commands/list.rs");
    // Listing the app's commands makes Tauri generate a permission for each, so a window can only
    // call the commands its capability grants (capabilities/main.json).
    let manifest = tauri_build::AppManifest::new().commands(&commands!(names));
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("failed to run tauri-build");
}
