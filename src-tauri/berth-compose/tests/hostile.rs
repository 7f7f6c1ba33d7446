//! Inputs that must be refused quickly, clearly, and with a location.

mod common;

use std::time::{Duration, Instant};

use berth_compose::Error;
use common::{Scratch, assert_at};

#[test]
fn alias_bomb_is_refused_fast() {
    let s = Scratch::new("bomb");
    let mut text = String::from("x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        text.push_str(&format!("x-a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("services:\n  web:\n    image: nginx\n");
    let file = s.write("compose.yaml", text);
    let start = Instant::now();
    let err = s.load().unwrap_err();
    // 9^12 nodes would take hours and terabytes; the budget stops at the first alias past it,
    // before cloning, at line 6 (9^5 > 200k nodes).
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(err, Error::AliasBomb { .. }), "{err}");
    assert_at(&err, &file, 6);
}

#[test]
fn duplicate_keys_name_both_places() {
    let s = Scratch::new("dup");
    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    image: redis\n",
    );
    let err = s.load().unwrap_err();
    assert_at(&err, &file, 4);
    assert!(
        err.to_string().contains("already defined at line 3"),
        "{err}"
    );
}

#[test]
fn non_utf8_is_refused() {
    let s = Scratch::new("bytes");
    let file = s.write("compose.yaml", b"services:\n  web:\n    image: \xff\xfe\n");
    let err = s.load().unwrap_err();
    assert!(matches!(err, Error::NotUtf8 { offset: 28, .. }), "{err}");
    assert_at(&err, &file, 3);
}

#[test]
fn empty_file_is_refused() {
    let s = Scratch::new("empty");
    let file = s.write("compose.yaml", "# nothing here\n");
    let err = s.load().unwrap_err();
    assert!(matches!(err, Error::Empty { .. }), "{err}");
    assert_eq!(&*err.location().unwrap().file, file.as_path());
}

#[test]
fn unknown_key_suggests() {
    let s = Scratch::new("typo");
    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    enviroment:\n      A: 1\n",
    );
    let err = s.load().unwrap_err();
    assert_at(&err, &file, 4);
    assert_eq!(err.hint(), "did you mean `environment`?");
}

#[test]
fn wrong_type_is_located() {
    let s = Scratch::new("type");
    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    restart: [always]\n",
    );
    let err = s.load().unwrap_err();
    assert_at(&err, &file, 4);
    assert!(
        err.to_string()
            .contains("services.web.restart must be a string"),
        "{err}"
    );
}

#[test]
fn dependency_cycle_is_printed() {
    let s = Scratch::new("cycle");
    let file = s.write(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n",
    );
    let err = s.load().unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency cycle detected: a -> b -> c -> a"
    );
    assert_at(&err, &file, 4);
}

#[test]
fn required_variable_message() {
    let s = Scratch::new("required");
    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx:${TAG:?set TAG to the release to run}\n",
    );
    let err = s.load().unwrap_err();
    assert_eq!(
        err.to_string(),
        "required variable TAG is missing a value: set TAG to the release to run"
    );
    assert_at(&err, &file, 3);
}

#[test]
fn invalid_port_is_located() {
    let s = Scratch::new("port");
    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    ports:\n      - '80:80'\n      - '99999:80'\n",
    );
    let err = s.load().unwrap_err();
    assert!(matches!(err, Error::InvalidPort { .. }), "{err}");
    assert_at(&err, &file, 6);
}

#[test]
fn missing_image_and_undefined_references() {
    let s = Scratch::new("refs");
    let file = s.write("compose.yaml", "services:\n  web:\n    ports: ['80']\n");
    let err = s.load().unwrap_err();
    assert!(matches!(err, Error::NoImageOrBuild { .. }), "{err}");
    assert_at(&err, &file, 2);

    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    networks: [back]\n    depends_on: [db]\n",
    );
    let err = s.load().unwrap_err();
    assert_eq!(
        err.to_string(),
        "service \"web\" refers to undefined network back"
    );
    assert_at(&err, &file, 4);

    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    secrets: [token]\n",
    );
    let err = s.load().unwrap_err();
    assert_eq!(
        err.to_string(),
        "service \"web\" refers to undefined secret token"
    );
    assert_at(&err, &file, 4);

    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    depends_on: [db]\n",
    );
    let err = s.load().unwrap_err();
    assert_eq!(
        err.to_string(),
        "service \"web\" refers to undefined service db"
    );
    assert_at(&err, &file, 4);
}

#[test]
fn syntax_error_is_located() {
    let s = Scratch::new("syntax");
    let file = s.write("compose.yaml", "services:\n  web:\n    image: [nginx\n");
    let err = s.load().unwrap_err();
    assert!(matches!(err, Error::Syntax { .. }), "{err}");
    assert!(err.location().unwrap().line_col.is_some());
    assert_eq!(&*err.location().unwrap().file, file.as_path());
}

#[test]
fn missing_env_file_is_located() {
    let s = Scratch::new("envfile");
    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    env_file:\n      - path: ./optional.env\n        required: false\n      - ./missing.env\n",
    );
    let err = s.load().unwrap_err();
    assert!(matches!(err, Error::EnvFileNotFound { .. }), "{err}");
    assert_at(&err, &file, 7);
}

#[test]
fn include_cycle_is_refused() {
    let s = Scratch::new("inc");
    s.write(
        "compose.yaml",
        "include: [other.yaml]\nservices:\n  a:\n    image: x\n",
    );
    s.write(
        "other.yaml",
        "include: [compose.yaml]\nservices:\n  b:\n    image: x\n",
    );
    let err = s.load().unwrap_err();
    assert!(matches!(err, Error::IncludeCycle { .. }), "{err}");
}

#[test]
fn missing_included_and_extended_files_point_at_the_reference() {
    let s = Scratch::new("missing");
    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\ninclude:\n  - path: nowhere.yaml\n",
    );
    let err = s.load().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "included file {} not found",
            s.dir.join("nowhere.yaml").display()
        )
    );
    assert_at(&err, &file, 5);

    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    extends:\n      file: base.yaml\n      service: x\n",
    );
    let err = s.load().unwrap_err();
    assert!(
        matches!(
            err,
            Error::FileNotFound {
                kind: "extended file",
                ..
            }
        ),
        "{err}"
    );
    assert_at(&err, &file, 4);
}
