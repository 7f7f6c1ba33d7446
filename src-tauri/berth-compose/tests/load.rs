//! Loading behaviour on real files: merging, extends, include, interpolation sources, project
//! names, profiles, env files, and the dependency graph.

mod common;

use std::path::PathBuf;

use berth_compose::{Error, load};
use common::Scratch;

#[test]
fn later_files_merge_over_earlier() {
    let s = Scratch::new("merge");
    s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    command: run a\n    ports: ['80:80']\n    environment: [A=1, B=2]\n",
    );
    s.write(
        "compose.override.yaml",
        "services:\n  web:\n    image: nginx:2\n    command: [run, b]\n    ports: ['443:443']\n    environment:\n      B: 3\n  db:\n    image: postgres\n",
    );
    let p = s.load().unwrap();
    let web = &p.services["web"];
    assert_eq!(web.image.as_deref(), Some("nginx:2"));
    assert_eq!(web.command, Some(vec!["run".into(), "b".into()]));
    assert_eq!(web.ports.len(), 2);
    assert_eq!(web.environment["B"].as_deref(), Some("3"));
    assert_eq!(web.environment["A"].as_deref(), Some("1"));
    assert!(p.services.contains_key("db"));
    assert_eq!(p.compose_files.len(), 2);
}

#[test]
fn reset_and_override_tags_across_files() {
    let s = Scratch::new("tags");
    let a = s.write(
        "a.yaml",
        "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n    labels: {x: '1'}\n",
    );
    let b = s.write(
        "b.yaml",
        "services:\n  web:\n    ports: !reset []\n    labels: !override {y: '2'}\n",
    );
    let mut o = s.options(&[]);
    o.files = vec![a, b];
    let p = load(&o).unwrap();
    assert!(p.services["web"].ports.is_empty());
    assert_eq!(p.services["web"].labels.keys().collect::<Vec<_>>(), ["y"]);
}

#[test]
fn extends_same_file_and_other_file() {
    let s = Scratch::new("extends");
    s.write(
        "base/common.yaml",
        "services:\n  base:\n    image: app\n    volumes: ['./data:/data']\n    environment: {A: '1'}\n",
    );
    s.write(
        "compose.yaml",
        "services:\n  local:\n    extends: web\n    environment: {C: '3'}\n  web:\n    extends:\n      file: base/common.yaml\n      service: base\n    environment: {B: '2'}\n",
    );
    let p = s.load().unwrap();
    let web = &p.services["web"];
    assert_eq!(web.image.as_deref(), Some("app"));
    // Relative paths of the base belong to the base's file.
    assert_eq!(
        web.volumes[0].source.as_deref().map(PathBuf::from),
        Some(s.dir.join("base/data"))
    );
    let local = &p.services["local"];
    assert_eq!(local.environment.len(), 3);
}

#[test]
fn include_imports_resources_with_their_own_paths() {
    let s = Scratch::new("include");
    s.write(
        "sub/compose.yaml",
        "services:\n  db:\n    image: postgres\n    volumes: ['./init:/init', 'data:/var/lib/db']\nvolumes:\n  data: {}\n",
    );
    s.write(
        "compose.yaml",
        "include:\n  - sub/compose.yaml\nservices:\n  web:\n    image: nginx\n    depends_on: [db]\n",
    );
    let p = s.load().unwrap();
    assert!(p.services.contains_key("db"));
    assert_eq!(
        p.services["db"].volumes[0]
            .source
            .as_deref()
            .map(PathBuf::from),
        Some(s.dir.join("sub/init"))
    );
    assert_eq!(p.volumes["data"].name, "include_data");
}

#[test]
fn interpolation_sources_and_precedence() {
    let s = Scratch::new("interp");
    s.write(
        ".env",
        "TAG=from-dotenv\nPORT=8080\n# comment\nexport NAME=\"quoted value\"\n",
    );
    s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx:${TAG}\n    ports: ['${PORT}:80']\n    environment:\n      NAME: ${NAME}\n      LITERAL: $$HOME\n      DEFAULTED: ${UNSET:-fallback}\n      FROM_ENV:\n",
    );
    let p = load(&s.options(&[("TAG", "from-process"), ("FROM_ENV", "yes")])).unwrap();
    let web = &p.services["web"];
    assert_eq!(web.image.as_deref(), Some("nginx:from-process"));
    assert_eq!(web.ports[0].published.as_deref(), Some("8080"));
    assert_eq!(web.environment["NAME"].as_deref(), Some("quoted value"));
    assert_eq!(web.environment["LITERAL"].as_deref(), Some("$HOME"));
    assert_eq!(web.environment["DEFAULTED"].as_deref(), Some("fallback"));
    assert_eq!(web.environment["FROM_ENV"].as_deref(), Some("yes"));
    let json = p.to_compose_json();
    assert_eq!(json["services"]["web"]["environment"]["LITERAL"], "$$HOME");

    // --env-file replaces .env.
    s.write("other.env", "TAG=other\nPORT=9000\n");
    let mut o = s.options(&[]);
    o.env_files = vec!["other.env".into()];
    let p = load(&o).unwrap();
    assert_eq!(p.services["web"].image.as_deref(), Some("nginx:other"));
}

#[test]
fn env_file_contents_under_environment() {
    let s = Scratch::new("envfile");
    s.write("app.env", "A=from-file\nB=from-file\n");
    s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    env_file: app.env\n    environment:\n      B: from-environment\n",
    );
    let p = s.load().unwrap();
    let env = &p.services["web"].environment;
    assert_eq!(env["A"].as_deref(), Some("from-file"));
    assert_eq!(env["B"].as_deref(), Some("from-environment"));
    assert!(
        p.to_compose_json()["services"]["web"]
            .get("env_file")
            .is_none()
    );
}

#[test]
fn project_name_precedence() {
    let s = Scratch::new("My_Project.Dir");
    s.write("compose.yaml", "services:\n  web:\n    image: nginx\n");
    assert_eq!(s.load().unwrap().name, "my_projectdir");

    s.write(
        "compose.yaml",
        "name: From-File\nservices:\n  web:\n    image: ${COMPOSE_PROJECT_NAME}\n",
    );
    let p = s.load().unwrap();
    assert_eq!(p.name, "from-file");
    assert_eq!(p.services["web"].image.as_deref(), Some("from-file"));

    let p = load(&s.options(&[("COMPOSE_PROJECT_NAME", "from-env")])).unwrap();
    assert_eq!(p.name, "from-env");

    let mut o = s.options(&[("COMPOSE_PROJECT_NAME", "from-env")]);
    o.project_name = Some("flag".into());
    assert_eq!(load(&o).unwrap().name, "flag");
    o.project_name = Some("Bad Name".into());
    assert!(matches!(load(&o).unwrap_err(), Error::ProjectName { .. }));
}

#[test]
fn resource_names_default_network_and_external() {
    let s = Scratch::new("res");
    s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    volumes: ['data:/data', 'shared:/shared']\n  proxy:\n    image: traefik\n    networks: [edge, default]\nnetworks:\n  edge:\n    external: true\nvolumes:\n  data: {}\n  shared:\n    external: true\n    name: team_shared\n",
    );
    let p = s.load().unwrap();
    assert_eq!(p.networks["default"].name, "res_default");
    assert_eq!(p.networks["edge"].name, "edge");
    assert_eq!(p.networks["edge"].external, Some(true));
    assert_eq!(p.volumes["data"].name, "res_data");
    assert_eq!(p.volumes["shared"].name, "team_shared");
    assert_eq!(
        p.services["web"].networks.keys().collect::<Vec<_>>(),
        ["default"]
    );
}

#[test]
fn profiles_select_services() {
    let s = Scratch::new("profiles");
    s.write(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n  debug:\n    image: busybox\n    profiles: [debug]\n",
    );
    let p = s.load().unwrap();
    assert_eq!(p.services.keys().collect::<Vec<_>>(), ["web"]);
    assert!(p.disabled_services.contains_key("debug"));
    let mut o = s.options(&[]);
    o.profiles = vec!["debug".into()];
    assert_eq!(load(&o).unwrap().services.len(), 2);
    let p = load(&s.options(&[("COMPOSE_PROFILES", "debug")])).unwrap();
    assert_eq!(p.services.len(), 2);
}

#[test]
fn dependency_graph_orders_and_pulls_in() {
    let s = Scratch::new("graph");
    s.write(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    depends_on:\n      api: {condition: service_healthy, restart: true}\n  api:\n    image: x\n    depends_on: [db, cache]\n  db:\n    image: x\n  cache:\n    image: x\n  other:\n    image: x\n",
    );
    let p = s.load().unwrap();
    let order = p.start_order();
    let pos = |n: &str| order.iter().position(|x| x == n).unwrap();
    assert!(pos("db") < pos("api") && pos("cache") < pos("api") && pos("api") < pos("web"));
    assert_eq!(order.len(), 5);
    let pulled: Vec<String> = p.with_dependencies(["web"]).into_iter().collect();
    assert_eq!(pulled, ["api", "cache", "db", "web"]);
    let dep = &p.services["web"].depends_on["api"];
    assert_eq!(
        (dep.condition.as_str(), dep.restart, dep.required),
        ("service_healthy", Some(true), true)
    );
}

#[test]
fn long_and_short_syntax_everywhere() {
    let s = Scratch::new("syntax");
    s.write(
        "compose.yaml",
        r#"x-common: &common
  restart: unless-stopped
  labels:
    - "team=core"
services:
  web:
    <<: *common
    image: nginx
    entrypoint: /bin/sh -c 'echo "hi there"'
    ports:
      - "127.0.0.1:8000-8001:80-81/udp"
      - target: 443
        published: 8443
        host_ip: 0.0.0.0
    expose: [3000, "4000-4001"]
    volumes:
      - type: tmpfs
        target: /tmp
      - ~/cache:/cache:ro
    healthcheck:
      test: curl -f http://localhost
      interval: 90s
      retries: 3
    deploy:
      replicas: 2
      resources:
        limits: {cpus: "0.5", memory: 512M}
    stop_grace_period: 1m
    build:
      context: ./app
      args: [VERSION=1]
"#,
    );
    let p = load(&s.options(&[("HOME", "/home/me")])).unwrap();
    let web = &p.services["web"];
    assert_eq!(web.restart.as_deref(), Some("unless-stopped"));
    assert_eq!(web.labels["team"], "core");
    assert_eq!(
        web.entrypoint.as_deref().unwrap(),
        ["/bin/sh", "-c", "echo \"hi there\""]
    );
    assert_eq!(web.ports.len(), 3);
    assert_eq!(web.ports[0].target, 80);
    assert_eq!(web.ports[0].published.as_deref(), Some("8000"));
    assert_eq!(web.ports[0].protocol.as_deref(), Some("udp"));
    assert_eq!(web.ports[0].host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(web.ports[2].published.as_deref(), Some("8443"));
    assert_eq!(web.expose, ["3000", "4000-4001"]);
    assert_eq!(web.volumes[0].kind, "tmpfs");
    assert_eq!(web.volumes[1].source.as_deref(), Some("/home/me/cache"));
    assert_eq!(web.volumes[1].read_only, Some(true));
    let hc = web.healthcheck.as_ref().unwrap();
    assert_eq!(hc.test, ["CMD-SHELL", "curl -f http://localhost"]);
    assert_eq!(hc.interval.as_deref(), Some("1m30s"));
    let deploy = web.deploy.as_ref().unwrap();
    assert_eq!(deploy.replicas, Some(2));
    assert_eq!(
        deploy.resources.as_ref().unwrap()["limits"]["memory"],
        "536870912"
    );
    assert_eq!(web.stop_grace_period.as_deref(), Some("1m0s"));
    let build = web.build.as_ref().unwrap();
    assert_eq!(
        build.context.as_deref().map(PathBuf::from),
        Some(s.dir.join("app"))
    );
    assert_eq!(build.dockerfile.as_deref(), Some("Dockerfile"));
    assert_eq!(build.args["VERSION"].as_deref(), Some("1"));
}

#[test]
fn discovery_walks_up_from_the_working_directory() {
    let s = Scratch::new("discover");
    s.write("compose.yaml", "services:\n  web:\n    image: nginx\n");
    std::fs::create_dir_all(s.dir.join("deep/er")).unwrap();
    let mut o = s.options(&[]);
    o.working_dir = s.dir.join("deep/er");
    let p = load(&o).unwrap();
    assert_eq!(p.name, "discover");
    assert_eq!(p.working_dir, s.dir);

    let empty = Scratch::new("nothing");
    assert!(matches!(
        empty.load().unwrap_err(),
        Error::NoComposeFile { .. }
    ));
}

#[test]
fn replicas_come_from_scale_then_deploy_replicas_then_one() {
    let s = Scratch::new("replicas");
    s.write(
        "compose.yaml",
        "services:\n  scaled:\n    image: a\n    scale: 3\n  deployed:\n    image: a\n    deploy: {replicas: 2}\n  single:\n    image: a\n  debug:\n    image: a\n    profiles: [debug]\n",
    );
    let p = s.load().unwrap();
    let replicas = |name: &str| p.services[name].replicas();
    assert_eq!(
        (replicas("scaled"), replicas("deployed"), replicas("single")),
        (3, 2, 1)
    );
    assert!(p.defines("single") && p.defines("debug") && !p.defines("postgres"));
}

#[test]
fn a_load_reports_every_file_it_read_or_looked_for_even_when_it_fails() {
    let s = Scratch::new("sources");
    let compose = s.write(
        "compose.yaml",
        "include: [inc/more.yaml]\nservices:\n  web:\n    extends: {file: base.yaml, service: base}\n    env_file: [web.env]\n",
    );
    let base = s.write("base.yaml", "services:\n  base:\n    image: app\n");
    let more = s.write("inc/more.yaml", "services:\n  db:\n    image: db\n");
    let web_env = s.write("web.env", "A=1\n");
    let (project, sources) = berth_compose::load_sources(&s.options(&[]));
    project.unwrap();
    let expected: Vec<PathBuf> = vec![
        s.dir.join(".env"),
        base.clone(),
        s.dir.join("compose.override.yaml"),
        s.dir.join("compose.override.yml"),
        compose.clone(),
        s.dir.join("docker-compose.override.yaml"),
        s.dir.join("docker-compose.override.yml"),
        s.dir.join("inc/.env"),
        more,
        web_env.clone(),
    ];
    assert_eq!(sources.into_iter().collect::<Vec<_>>(), expected);

    // A broken file still names what was read up to it, and a missing one what to wait for.
    std::fs::remove_file(&web_env).unwrap();
    let (project, sources) = berth_compose::load_sources(&s.options(&[]));
    assert!(project.is_err());
    assert!(sources.contains(&web_env) && sources.contains(&compose) && sources.contains(&base));
}

#[test]
fn discovery_reports_the_files_whose_creation_would_change_what_it_finds() {
    let s = Scratch::new("discovery");
    let (project, sources) = berth_compose::load_sources(&s.options(&[]));
    assert!(matches!(project, Err(Error::NoComposeFile { .. })));
    for dir in s.dir.ancestors() {
        assert!(sources.contains(&dir.join("compose.yaml")), "{sources:?}");
        assert!(sources.contains(&dir.join("docker-compose.yml")));
    }

    let compose = s.write("compose.yaml", "services:\n  web:\n    image: a\n");
    let (project, sources) = berth_compose::load_sources(&s.options(&[]));
    project.unwrap();
    assert!(sources.contains(&compose));
    assert!(sources.contains(&s.dir.join("compose.override.yaml")));
    assert!(sources.contains(&s.dir.join("docker-compose.override.yml")));
    let parent = s.dir.parent().unwrap();
    assert!(
        !sources.contains(&parent.join("compose.yaml")),
        "a found file ends the search"
    );
}
