//! A scratch project directory per test, with files written as given.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use berth_compose::{Error, LoadOptions, Project};

pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir()
            .join(format!(
                "berth-compose-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ))
            .join(name);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn options(&self, env: &[(&str, &str)]) -> LoadOptions {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LoadOptions::new(&self.dir, env)
    }

    pub fn load(&self) -> Result<Project, Error> {
        berth_compose::load(&self.options(&[]))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.dir.parent().unwrap());
    }
}

/// Asserts the error points into `file` at `line`.
pub fn assert_at(err: &Error, file: &Path, line: usize) {
    let at = err
        .location()
        .unwrap_or_else(|| panic!("no location: {err}"));
    assert_eq!(&*at.file, file, "{err}");
    assert_eq!(at.line_col.map(|l| l.0), Some(line), "{err}");
    let rendered = err.render();
    assert!(
        rendered.contains(&format!("{}:{line}:", file.display())),
        "{rendered}"
    );
}
