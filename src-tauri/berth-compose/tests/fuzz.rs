//! Property tests: whatever the input, loading returns `Ok` or `Err`, never panics or hangs.
//! Inputs are YAML-ish text built from compose's own vocabulary, and corpus files with bytes
//! inserted, deleted and replaced. Inputs that ever crashed are kept in `tests/regressions/`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Scratch;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Loading one input must finish well inside this.
const PER_INPUT: Duration = Duration::from_secs(2);

fn load_text(s: &Scratch, text: &[u8]) {
    s.write("compose.yaml", text);
    let start = Instant::now();
    let _ = s.load();
    assert!(start.elapsed() < PER_INPUT, "took {:?}", start.elapsed());
}

/// 2000 cases per property (about a second each); `PROPTEST_CASES` asks for more.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Fragments that steer random text towards the interesting parts of the loader.
const TOKENS: &[&str] = &[
    "services:",
    "\n",
    "\n  ",
    "\n    ",
    "\n      ",
    "- ",
    ": ",
    "web:",
    "image: nginx",
    "build: .",
    "ports:",
    "'80:80'",
    "8000-8010:80/udp",
    "[::1]:1:2",
    "volumes:",
    "./a:/b:ro",
    "networks:",
    "depends_on:",
    "condition: service_healthy",
    "environment:",
    "A=1",
    "${A}",
    "${A:-x}",
    "${A:?no}",
    "$$",
    "${",
    "extends:",
    "service: web",
    "include:",
    "env_file:",
    "profiles: [a]",
    "&a ",
    "*a",
    "<<: *a",
    "!reset",
    "!override",
    "[",
    "]",
    "{",
    "}",
    ",",
    "'",
    "\"",
    "#",
    "|",
    ">",
    "~",
    "null",
    "true",
    "0x1F",
    "1.5",
    "healthcheck:",
    "test: [CMD]",
    "command: a 'b",
    "deploy:",
    "replicas: 2",
    "x-foo:",
    "secrets:",
    "configs:",
    "name: Ä",
    "\t",
    "---\n",
    "...\n",
    "? ",
    "%YAML 1.2\n",
];

fn yamlish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|t| t.concat())
}

fn corpus_files() -> Vec<Vec<u8>> {
    let dir = std::env::var_os("BERTH_COMPOSE_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compose-corpus")
        });
    let mut out = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(std::fs::read(&p).unwrap());
            }
        }
    }
    assert!(
        !out.is_empty(),
        "compose corpus not found at {}",
        dir.display()
    );
    out.sort();
    out
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Replace(usize, u8),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let bytes = prop::sample::select(b" \n\t:-[]{}&*!|>'\"#$,.~0123456789abcxyz\xff".to_vec());
    let edit = prop_oneof![
        (any::<usize>(), prop::collection::vec(bytes.clone(), 1..8))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..20).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), bytes).prop_map(|(i, b)| Edit::Replace(i, b)),
    ];
    prop::collection::vec(edit, 1..6)
}

fn apply(mut text: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = text.len().max(1);
        match e {
            Edit::Insert(i, b) => {
                let at = i % (text.len() + 1);
                text.splice(at..at, b.iter().copied());
            }
            Edit::Delete(i, n) => {
                let at = i % len;
                let end = (at + n).min(text.len());
                if at < end {
                    text.drain(at..end);
                }
            }
            Edit::Replace(i, b) => {
                if !text.is_empty() {
                    let at = i % text.len();
                    text[at] = *b;
                }
            }
        }
    }
    text
}

#[test]
fn yamlish_inputs_never_panic() {
    let s = Scratch::new("fuzz");
    proptest!(config(), |(text in yamlish())| {
        load_text(&s, text.as_bytes());
    });
}

#[test]
fn mutated_corpus_files_never_panic() {
    let s = Scratch::new("mutate");
    let files = corpus_files();
    proptest!(config(), |(index in any::<usize>(), edits in edits())| {
        let original = files[index % files.len()].clone();
        load_text(&s, &apply(original, &edits));
    });
}

#[test]
fn regression_inputs_load_without_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let s = Scratch::new("regressions");
    let mut count = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        load_text(&s, &std::fs::read(e.path()).unwrap());
        count += 1;
    }
    assert!(count > 0, "tests/regressions holds no inputs");
}
