//! Berth's config hash is docker compose's: a container either tool created is "unchanged" to
//! the other. Checked against `docker compose config --hash` over a file that uses most of what
//! a service can say.

use std::collections::BTreeMap;
use std::process::Command;

use berth_engine::berth_compose::{self, LoadOptions};
use berth_tests::fixture;

#[test]
fn every_service_hashes_as_docker_compose_hashes_it() {
    let dir = fixture("hash");
    let file = dir.join("compose.yaml");
    let out = Command::new("docker")
        .args(["compose", "--profile", "data", "-f"])
        .arg(&file)
        .args(["config", "--hash", "*"])
        .output()
        .expect("run docker compose");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: BTreeMap<String, String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(s, h)| (s.to_owned(), h.to_owned()))
        .collect();

    let mut options = LoadOptions::new(&dir, std::env::vars().collect());
    options.files = vec![file];
    options.profiles = vec!["data".into()];
    let project = berth_compose::load(&options).unwrap_or_else(|e| panic!("{}", e.render()));
    let ours: BTreeMap<String, String> = project
        .services
        .iter()
        .map(|(name, s)| (name.clone(), berth_engine::service_hash(s)))
        .collect();
    assert_eq!(ours, theirs);
}
