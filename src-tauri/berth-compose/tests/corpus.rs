//! Every file of the shared compose corpus, loaded as `docker compose config` loaded it for the
//! reference outputs, compared on the fields Berth acts on. Rejected files must be rejected too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_compose::{LoadOptions, load};
use serde_json::Value;

/// Service fields compared with the reference.
const SERVICE_FIELDS: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "ports",
    "expose",
    "depends_on",
    "healthcheck",
    "networks",
    "volumes",
    "labels",
    "profiles",
    "restart",
    "container_name",
    "user",
    "working_dir",
    "secrets",
];

/// Files whose output is known to differ, with the reason. Empty: all equal.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

pub fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("BERTH_COMPOSE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compose-corpus")
        });
    match dir.canonicalize() {
        Ok(d) if d.join("config-results.json").is_file() => d,
        _ => panic!(
            "compose corpus not found at {} (set BERTH_COMPOSE_CORPUS to its path)",
            dir.display()
        ),
    }
}

/// Options matching how the references were produced: from the file's directory, with an
/// environment of PATH and HOME only.
fn options(file: &Path) -> LoadOptions {
    let env: BTreeMap<String, String> = ["PATH", "HOME"]
        .iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect();
    let mut o = LoadOptions::new(file.parent().unwrap(), env);
    o.files = vec![file.to_path_buf()];
    o
}

fn results(corpus: &Path) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(corpus.join("config-results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn expected(corpus: &Path, output: &str) -> Value {
    let text = std::fs::read_to_string(corpus.join(output)).unwrap();
    let text = text.replace("@CORPUS@", &corpus.to_string_lossy());
    serde_json::from_str(&text).unwrap()
}

fn compare(file: &str, want: &Value, got: &Value, diffs: &mut Vec<String>) {
    let mut check = |field: String, w: Option<&Value>, g: Option<&Value>| {
        let w = w.unwrap_or(&Value::Null);
        let g = g.unwrap_or(&Value::Null);
        if w != g {
            diffs.push(format!(
                "{file}: {field}\n    expected: {w}\n    actual:   {g}"
            ));
        }
    };
    check("name".into(), want.get("name"), got.get("name"));
    let empty = serde_json::Map::new();
    let services = |v: &Value| {
        v.get("services")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let (ws, gs) = (services(want), services(got));
    let names = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    if names(&ws) != names(&gs) {
        let (w, g) = (Value::from(names(&ws)), Value::from(names(&gs)));
        check("services".into(), Some(&w), Some(&g));
    }
    for (name, w) in &ws {
        let g = gs.get(name).and_then(Value::as_object).unwrap_or(&empty);
        for field in SERVICE_FIELDS {
            check(
                format!("services.{name}.{field}"),
                w.get(*field),
                g.get(*field),
            );
        }
        check(
            format!("services.{name}.deploy.replicas"),
            w.get("deploy").and_then(|d| d.get("replicas")),
            g.get("deploy").and_then(|d| d.get("replicas")),
        );
    }
    for kind in ["networks", "volumes"] {
        check(kind.into(), want.get(kind), got.get(kind));
    }
}

#[test]
fn corpus_matches_docker_compose_config() {
    let corpus = corpus_dir();
    let mut diffs = Vec::new();
    let mut equal = 0;
    let mut accepted = 0;
    let mut rejected = 0;
    for (rel, info) in results(&corpus) {
        let file = corpus.join(&rel);
        let result = load(&options(&file));
        if info["status"] == "ok" {
            accepted += 1;
            let project = match result {
                Ok(p) => p,
                Err(e) => {
                    diffs.push(format!(
                        "{rel}: rejected but docker compose accepts it:\n{}",
                        e.render()
                    ));
                    continue;
                }
            };
            let before = diffs.len();
            let want = expected(&corpus, info["output"].as_str().unwrap());
            compare(&rel, &want, &project.to_compose_json(), &mut diffs);
            if let Some(extra) = info.get("extra_outputs").and_then(Value::as_object) {
                for (flags, output) in extra {
                    let env_file = flags.split_whitespace().nth(1).unwrap();
                    let mut o = options(&file);
                    o.env_files = vec![PathBuf::from(env_file)];
                    let got = load(&o).map(|p| p.to_compose_json());
                    match got {
                        Ok(got) => compare(
                            &format!("{rel} ({flags})"),
                            &expected(&corpus, output.as_str().unwrap()),
                            &got,
                            &mut diffs,
                        ),
                        Err(e) => diffs.push(format!("{rel} ({flags}): {}", e.render())),
                    }
                }
            }
            if diffs.len() == before {
                equal += 1;
            } else if let Some((_, why)) = KNOWN_DIFFERENCES.iter().find(|(f, _)| *f == rel) {
                eprintln!("known difference {rel}: {why}");
                diffs.truncate(before);
            }
        } else {
            rejected += 1;
            match result {
                Ok(_) => diffs.push(format!(
                    "{rel}: accepted but docker compose rejects it: {}",
                    info["default_stderr"]
                )),
                Err(e) if e.location().is_none() => {
                    diffs.push(format!("{rel}: rejected without a location: {e}"))
                }
                Err(e) => eprintln!("REJECTED {rel}: {e} [{}]", e.location().unwrap()),
            }
        }
    }
    eprintln!("{equal}/{accepted} accepted files equal; {rejected} rejected files checked");
    assert!(
        diffs.is_empty(),
        "{} mismatches:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
