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
    let took = start.elapsed();
    eprintln!("alias bomb refused in {took:?}");
    // 9^12 nodes would take hours and terabytes (docker compose runs until killed); the budget
    // stops at the first alias past a million expanded nodes, before cloning, at line 7. The
    // bound only tells a budget from none on a busy machine: `cargo bench -p berth-compose
    // --bench hostile` measures the refusal (78 ms in release, docs/benchmarks.md).
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(matches!(err, Error::AliasBomb { .. }), "{err}");
    assert_at(&err, &file, 7);
}

#[test]
fn a_large_file_without_aliases_loads() {
    // 5,000 services of 50 variables: 6.9 MB and half a million nodes, which compose loads.
    let s = Scratch::new("large");
    let mut text = String::from("services:\n");
    for i in 0..5000 {
        text.push_str(&format!("  s{i}:\n    image: busybox\n    environment:\n"));
        for j in 0..50 {
            text.push_str(&format!("      VAR_{j}: value-{i}-{j}\n"));
        }
    }
    s.write("compose.yaml", text);
    let start = Instant::now();
    let p = s.load().unwrap_or_else(|e| panic!("{}", e.render()));
    eprintln!(
        "5,000 services x 50 variables loaded in {:?}",
        start.elapsed()
    );
    assert_eq!(p.services.len(), 5000);
    assert_eq!(p.services["s4999"].environment.len(), 50);
}

#[test]
fn aliases_may_repeat_a_block_but_not_explode() {
    // 2,000 services sharing an anchored block of 100 variables (400,000 nodes of expansion)
    // is ordinary, and compose loads it; the same aliases nested ten deep are a bomb, however
    // much plain text surrounds them.
    let s = Scratch::new("aliases");
    let mut text = String::from("x-env: &env\n");
    for j in 0..100 {
        text.push_str(&format!("  VAR_{j}: v{j}\n"));
    }
    text.push_str("services:\n");
    for i in 0..2000 {
        text.push_str(&format!(
            "  s{i}:\n    image: busybox\n    environment:\n      <<: *env\n      OWN: '{i}'\n"
        ));
    }
    s.write("compose.yaml", &text);
    let p = s.load().unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(p.services["s1999"].environment.len(), 101);

    text.push_str("x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        text.push_str(&format!("x-a{i}: &a{i} [{refs}]\n"));
    }
    let file = s.write("compose.yaml", text);
    let err = s.load().unwrap_err();
    assert!(matches!(err, Error::AliasBomb { .. }), "{err}");
    assert_eq!(&*err.location().unwrap().file, file.as_path());
}

#[test]
fn a_long_scalar_aliased_many_times_is_a_bomb_too() {
    // Few nodes, much text: 200 copies of a 1 MiB string are 200 MiB the file does not hold.
    let s = Scratch::new("long-alias");
    let mut text = format!("x-big: &big \"{}\"\nx-many:\n", "x".repeat(1 << 20));
    text.push_str(&"  - *big\n".repeat(200));
    text.push_str("services:\n  web:\n    image: nginx\n");
    let file = s.write("compose.yaml", text);
    let err = s.load().unwrap_err();
    assert!(matches!(err, Error::AliasBomb { .. }), "{err}");
    assert_eq!(&*err.location().unwrap().file, file.as_path());
}

/// Loads in a thread with the stack a tokio worker has (2 MiB), as the app does.
fn load_on_small_stack(s: &Scratch) -> Result<berth_compose::Project, Error> {
    let opts = s.options(&[]);
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || berth_compose::load(&opts))
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn deeply_nested_interpolation_is_refused_with_its_place() {
    let s = Scratch::new("nested-var");
    let n = 100_000;
    let value = format!("{}x{}", "${A:-".repeat(n), "}".repeat(n));
    let file = s.write(
        "compose.yaml",
        format!("services:\n  web:\n    image: busybox\n    command: \"{value}\"\n"),
    );
    let err = load_on_small_stack(&s).unwrap_err();
    assert!(matches!(err, Error::TooDeep { .. }), "{err}");
    assert_at(&err, &file, 4);
    assert!(
        err.render().len() < 2000,
        "the message quotes a bounded excerpt"
    );

    // Nesting within the limit still substitutes.
    let value = format!("{}x{}", "${A:-".repeat(20), "}".repeat(20));
    s.write(
        "compose.yaml",
        format!("services:\n  web:\n    image: \"{value}\"\n"),
    );
    assert_eq!(
        s.load().unwrap().services["web"].image.as_deref(),
        Some("x")
    );

    let env = s.write(
        "app.env",
        format!("A=1\nB={value}\nC={}x\n", "${A:-".repeat(n)),
    );
    s.write(
        "compose.yaml",
        "services:\n  web:\n    image: busybox\n    env_file: app.env\n",
    );
    let err = load_on_small_stack(&s).unwrap_err();
    assert_at(&err, &env, 3);
}

#[test]
fn deeply_nested_collections_are_refused_with_their_place() {
    let s = Scratch::new("nested-yaml");
    let n = 100_000;
    for (open, close) in [("[", "]"), ("{a: ", "}")] {
        let text = format!(
            "services:\n  web:\n    image: busybox\n    x-deep: {}1{}\n",
            open.repeat(n),
            close.repeat(n)
        );
        let file = s.write("compose.yaml", text);
        let err = load_on_small_stack(&s).unwrap_err();
        assert!(matches!(err, Error::TooDeep { .. }), "{open}: {err}");
        assert_at(&err, &file, 4);
    }
    let file = s.write("compose.yaml", format!("{}1\n", "- ".repeat(n)));
    let err = load_on_small_stack(&s).unwrap_err();
    assert!(matches!(err, Error::TooDeep { .. }), "{err}");
    assert_at(&err, &file, 1);

    // Block mappings 200 deep took more than a 2 MiB stack to build.
    let mut text = String::from("services:\n  web:\n    image: busybox\nx-deep:\n");
    for i in 1..200 {
        text.push_str(&format!("{}a:\n", "  ".repeat(i)));
    }
    let file = s.write("compose.yaml", text);
    let err = load_on_small_stack(&s).unwrap_err();
    assert!(matches!(err, Error::TooDeep { .. }), "{err}");
    assert_eq!(&*err.location().unwrap().file, file.as_path());

    // At the limit (the scalar 128 levels below the root), every stage fits the stack.
    let n = 127;
    s.write(
        "compose.yaml",
        format!(
            "services:\n  web:\n    image: busybox\n    labels:\n      x: '1'\nx-deep: {}1{}\n",
            "{a: ".repeat(n),
            "}".repeat(n)
        ),
    );
    load_on_small_stack(&s).unwrap_or_else(|e| panic!("{}", e.render()));
}

#[test]
fn a_deep_extends_chain_is_refused_with_its_place() {
    let s = Scratch::new("deep-extends");
    let n = 20_000;
    let mut text = String::from("services:\n");
    for i in 0..n {
        text.push_str(&format!("  s{i}:\n    extends: s{}\n", i + 1));
    }
    text.push_str(&format!("  s{n}:\n    image: busybox\n"));
    let file = s.write("compose.yaml", text);
    let err = load_on_small_stack(&s).unwrap_err();
    assert!(matches!(err, Error::TooDeep { .. }), "{err}");
    assert_eq!(&*err.location().unwrap().file, file.as_path());
    assert!(err.location().unwrap().line_col.is_some(), "{err}");

    // Across files, each extending the next.
    let n = 5_000;
    for i in 0..n {
        s.write(
            &format!("f{i}.yaml"),
            format!(
                "services:\n  s:\n    extends:\n      file: f{}.yaml\n      service: s\n",
                i + 1
            ),
        );
    }
    s.write(
        &format!("f{n}.yaml"),
        "services:\n  s:\n    image: busybox\n",
    );
    s.write(
        "compose.yaml",
        "services:\n  web:\n    extends:\n      file: f0.yaml\n      service: s\n",
    );
    let err = load_on_small_stack(&s).unwrap_err();
    assert!(matches!(err, Error::TooDeep { .. }), "{err}");
    assert!(err.location().unwrap().line_col.is_some(), "{err}");
}

#[test]
fn a_deep_include_chain_is_refused_with_its_place() {
    let s = Scratch::new("deep-include");
    let n = 5_000;
    for i in 0..n {
        s.write(
            &format!("f{i}.yaml"),
            format!(
                "include: [f{}.yaml]\nservices:\n  s{i}:\n    image: busybox\n",
                i + 1
            ),
        );
    }
    s.write(
        &format!("f{n}.yaml"),
        "services:\n  last:\n    image: busybox\n",
    );
    s.write(
        "compose.yaml",
        "include: [f0.yaml]\nservices:\n  web:\n    image: busybox\n",
    );
    let err = load_on_small_stack(&s).unwrap_err();
    assert!(matches!(err, Error::TooDeep { .. }), "{err}");
    assert!(err.location().unwrap().line_col.is_some(), "{err}");
}

#[test]
fn an_extends_cycle_prints_its_chain() {
    let s = Scratch::new("extends-cycle");
    let file = s.write(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    extends: b\n  b:\n    extends: c\n  c:\n    extends: a\n",
    );
    let err = s.load().unwrap_err();
    assert_eq!(err.to_string(), "extends cycle detected: a -> b -> c -> a");
    assert_at(&err, &file, 4);

    let other = s.write(
        "base.yaml",
        "services:\n  base:\n    extends:\n      file: compose.yaml\n      service: web\n",
    );
    s.write(
        "compose.yaml",
        "services:\n  web:\n    extends:\n      file: base.yaml\n      service: base\n",
    );
    let err = s.load().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "extends cycle detected: web -> base ({}) -> web",
            other.display()
        )
    );
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
fn a_directory_or_a_device_is_named_for_what_it_is() {
    let s = Scratch::new("not-a-file");
    std::fs::create_dir_all(s.dir.join("conf.d")).unwrap();
    // (reference, what it names, what that is, the line the error points at)
    let refs = [
        ("env_file: conf.d", "env file", "directory", 4),
        ("env_file: /dev/zero", "env file", "character device", 4),
        (
            "env_file:\n      - path: /dev/zero\n        required: false",
            "env file",
            "character device",
            5,
        ),
        (
            "extends:\n      file: conf.d\n      service: x",
            "extended file",
            "directory",
            5,
        ),
        (
            "extends:\n      file: /dev/zero\n      service: x",
            "extended file",
            "character device",
            5,
        ),
    ];
    for (reference, kind, what, line) in refs {
        let file = s.write(
            "compose.yaml",
            format!("services:\n  web:\n    image: busybox\n    {reference}\n"),
        );
        let err = s.load().unwrap_err();
        assert!(
            matches!(&err, Error::NotAFile { kind: k, what: w, .. } if *k == kind && *w == what),
            "{reference}: {err}"
        );
        assert_at(&err, &file, line);
        assert!(
            err.to_string()
                .ends_with(&format!("is a {what}, not a file")),
            "{err}"
        );
    }
    for target in ["conf.d", "/dev/zero"] {
        let file = s.write(
            "compose.yaml",
            format!("services:\n  web:\n    image: busybox\ninclude:\n  - {target}\n"),
        );
        let err = s.load().unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotAFile {
                    kind: "included file",
                    ..
                }
            ),
            "{err}"
        );
        assert_at(&err, &file, 5);
    }

    // Named on the command line: `-f` and `--env-file`.
    s.write("compose.yaml", "services:\n  web:\n    image: busybox\n");
    for (files, env_files) in [
        (vec!["conf.d"], vec![]),
        (vec!["/dev/zero"], vec![]),
        (vec![], vec!["/dev/zero"]),
        (vec![], vec!["conf.d"]),
    ] {
        let mut o = s.options(&[]);
        o.files = files.iter().map(Into::into).collect();
        o.env_files = env_files.iter().map(Into::into).collect();
        let err = berth_compose::load(&o).unwrap_err();
        assert!(
            matches!(err, Error::NotAFile { .. }),
            "{files:?} {env_files:?}: {err}"
        );
    }
}

#[test]
fn a_file_past_the_size_limit_is_not_read() {
    let s = Scratch::new("huge");
    // Sparse: a size on disk of nothing.
    let env = s.dir.join("huge.env");
    std::fs::File::create(&env)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let file = s.write(
        "compose.yaml",
        "services:\n  web:\n    image: busybox\n    env_file: huge.env\n",
    );
    let err = s.load().unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert_at(&err, &file, 4);
}

#[test]
fn a_long_env_file_loads_in_linear_time() {
    // 200,000 keys: a search of the keys so far for each one would take minutes.
    let s = Scratch::new("long-env");
    let mut env = String::new();
    for i in 0..200_000 {
        env.push_str(&format!("KEY_{i}=value_{i}\n"));
    }
    env.push_str("KEY_7=again\n");
    s.write("app.env", env);
    s.write(
        "compose.yaml",
        "services:\n  web:\n    image: busybox\n    env_file: app.env\n    environment:\n      KEY_8: mine\n",
    );
    let start = Instant::now();
    let p = s.load().unwrap_or_else(|e| panic!("{}", e.render()));
    let took = start.elapsed();
    eprintln!("200,000-line env file loaded in {took:?}");
    let env = &p.services["web"].environment;
    assert_eq!(env.len(), 200_000);
    assert_eq!(env["KEY_7"].as_deref(), Some("again"));
    assert_eq!(env["KEY_8"].as_deref(), Some("mine"));
    assert!(took < Duration::from_secs(60), "{took:?}");
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
