//! How far the loader follows an input before refusing it. Every recursive stage and every file
//! read is bounded, so no input can exhaust the stack or memory; real files stay far below.

/// Deepest YAML nesting, which bounds every stage that walks the document tree: at this depth
/// a whole load fits a 2 MiB thread stack (a tokio worker's), even in a debug build.
pub const YAML_DEPTH: usize = 128;

/// Most memory, in bytes, a document's aliases may expand to (each node counted at
/// [`NODE_BYTES`] plus its text): far more than anchors shared by thousands of services need,
/// and reached within a few aliases of a "billion laughs" file or of one long scalar aliased a
/// million times.
pub const ALIAS_BYTES: usize = 64 << 20;

/// What a node costs beyond its text, for [`ALIAS_BYTES`]: about the size of a `Node`.
pub const NODE_BYTES: usize = 64;

/// Deepest `${A:-${B:-...}}` nesting.
pub const INTERPOLATION_DEPTH: usize = 64;

/// Longest chain of services extending one another.
pub const EXTENDS_DEPTH: usize = 64;

/// Longest chain of files including one another.
pub const INCLUDE_DEPTH: usize = 64;

/// Largest file the loader reads: compose files, env files, extended and included files.
pub const FILE_BYTES: u64 = 64 << 20;

/// The file's first [`FILE_BYTES`] bytes and one more, to tell that it is longer. Every file the
/// loader reads goes through here, and so does an error quoting a line of one.
pub fn bounded(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
