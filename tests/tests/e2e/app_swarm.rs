//! The Swarm view in the window, on a one-node Swarm in a private dockerd: the open project is
//! deployed (its ignored keys warned about), its service reaches its replicas, Scale 3→1 is
//! what `docker service ls` then says, a replica killed behind Berth's back is notified and seen
//! recovering, the services' logs reach the log viewer, and Remove leaves nothing.

use std::time::Duration;

use berth_tests::app::App;
use berth_tests::notifications::{Notification, Notifications};
use berth_tests::swarm::{Swarm, until};
use berth_tests::{unique_project, workspace_binary};

/// The project's directory, removed when dropped.
struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How long the Swarm and the window may take to converge a step.
const LONG: Duration = Duration::from_secs(90);

/// A project of one service `api` (its compose file `yaml`) in a directory of its own, a
/// one-node Swarm, a notification service of the test's own, and the app open on the project
/// with the Swarm as its engine.
struct Window {
    name: String,
    _dir: Dir,
    swarm: Swarm,
    notifications: Notifications,
    app: App,
    /// The Swarm's name of `api`, and the CSS of its row in the Swarm view.
    service: String,
    row: String,
}

/// Waits until the Swarm view's row `row` reads `want` (running/desired replicas).
async fn replicas_read(app: &App, row: &str, want: &str) {
    app.text_when(&format!("{row} [data-testid=swarm-replicas]"), LONG, |t| {
        t == want
    })
    .await;
}

/// Kills `service`'s one replica behind Berth's back and waits for the below-desired
/// notification: the killed container's ID, the filter that lists the service's replicas, and
/// the notification.
async fn kill_replica(
    swarm: &Swarm,
    notifications: &Notifications,
    service: &str,
) -> (String, String, Notification) {
    let filter = format!("label=com.docker.swarm.service.name={service}");
    let replica = swarm.docker(&["ps", "-q", "--filter", &filter]);
    assert_eq!(replica.lines().count(), 1, "{replica}");
    swarm.docker(&["kill", &replica]);
    let alert = notifications
        .wait_for(LONG, |n| n.summary.contains(service))
        .await
        .expect("the below-desired notification");
    assert_eq!(alert.body, "runs 0 of 1 replicas");
    (replica, filter, alert)
}

impl Window {
    async fn open(what: &str, yaml: &str) -> Window {
        let name = unique_project(what);
        let dir = Dir(std::env::temp_dir().join(&name));
        std::fs::create_dir_all(&dir.0).unwrap();
        let swarm = Swarm::start(&["berth-test/busybox:1"]).await;
        let file = dir.0.join("compose.yaml");
        std::fs::write(&file, yaml).unwrap();
        let notifications = Notifications::start()
            .await
            .expect("a notification service of the test's own");
        let host = swarm.host();
        let args = ["-f", file.to_str().unwrap(), "-p", &name];
        let app =
            App::launch_with_env(&workspace_binary("berth"), &args, &[("DOCKER_HOST", &host)])
                .await;
        let service = format!("{name}_api");
        let row = format!("[data-testid=swarm-services] tr[data-service={service}]");
        Window {
            name,
            _dir: dir,
            swarm,
            notifications,
            app,
            service,
            row,
        }
    }
}

#[tokio::test]
async fn a_project_deployed_to_a_swarm_is_scaled_watched_and_removed_from_the_window() {
    let Window {
        name,
        _dir,
        swarm,
        notifications,
        app,
        service,
        row,
    } = Window::open(
        "swarm-ui",
        "services:\n  api:\n    image: berth-test/busybox:1\n    container_name: ignored-by-swarm\n    \
         command: [\"sh\", \"-c\", \"echo hello from $$HOSTNAME; while true; do sleep 1; done\"]\n    \
         deploy:\n      replicas: 3\n      restart_policy: {condition: any, delay: 10s}\n",
    )
    .await;

    // The engine is a Swarm manager: the header offers the Swarm view, on the project's stack.
    app.click("[data-testid=swarm-toggle]").await;
    app.click("[data-testid=swarm-deploy]").await;
    replicas_read(&app, &row, "3/3").await;
    app.texts_when("[data-testid=swarm-warning]", LONG, |w| {
        w.iter().any(|w| w.contains("container_name"))
    })
    .await;
    assert_eq!(
        swarm.docker(&["service", "ls", "--format", "{{.Name}} {{.Replicas}}"]),
        format!("{service} 3/3")
    );
    let nodes = app.table("[data-testid=swarm-nodes]").await;
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0][1..3], ["ready", "active"]);
    app.texts_when("[data-testid=swarm-tasks] tbody tr", LONG, |t| t.len() == 3)
        .await;
    // The replicas' logs, merged, in the window's log viewer.
    app.texts_when("[data-testid=log-row]", LONG, |rows| {
        rows.iter().filter(|r| r.contains("hello from")).count() >= 3
    })
    .await;

    // Scale 3 → 1: the Swarm says 1/1.
    app.fill(&format!("{row} [data-testid=swarm-scale-input]"), "1")
        .await;
    app.click(&format!("{row} [data-testid=swarm-scale]")).await;
    until("docker service ls to say 1/1", LONG, || {
        let ls = swarm.docker(&["service", "ls", "--format", "{{.Replicas}}"]);
        if ls == "1/1" { Ok(()) } else { Err(ls) }
    })
    .await;
    replicas_read(&app, &row, "1/1").await;
    assert!(
        notifications.received().is_empty(),
        "a deploy or a scale the user asked for is not news: {:?}",
        notifications.received()
    );

    // The replica killed behind Berth's back: notified, and seen coming back (after the restart
    // delay, longer than the view's poll, so the gap is seen).
    let (replica, filter, _) = kill_replica(&swarm, &notifications, &service).await;
    // The notification comes from the engine's events, before the view's next reading.
    for replicas in ["0/1", "1/1"] {
        replicas_read(&app, &row, replicas).await;
    }
    let replaced = swarm.docker(&["ps", "-q", "--filter", &filter]);
    assert!(!replaced.is_empty() && replaced != replica);

    // Remove, confirmed: nothing of the stack is left on the Swarm.
    app.click("[data-testid=swarm-remove]").await;
    app.click("[data-testid=swarm-remove-yes]").await;
    until("the stack's services and networks to go", LONG, || {
        let services = swarm.docker(&["service", "ls", "-q"]);
        let label = format!("label=com.docker.stack.namespace={name}");
        let networks = swarm.docker(&["network", "ls", "-q", "--filter", &label]);
        if services.is_empty() && networks.is_empty() {
            Ok(())
        } else {
            Err(format!("services {services:?}, networks {networks:?}"))
        }
    })
    .await;
    app.text_when("[data-testid=swarm-services] tbody", LONG, |t| {
        t.contains("Nothing is deployed")
    })
    .await;
    // The removal's progress, as `docker stack rm` reports it.
    app.text_when("[data-testid=swarm-progress]", LONG, |t| {
        t.contains(&format!("Removed {name}")) && t.contains(&format!("Service {service} Removing"))
    })
    .await;
    app.quit().await;
}

/// With the Swarm view closed and the window hidden, a replica killed behind Berth's back is
/// notified once (the app watches every stack while it runs, not only the open view's), a
/// scale from the window is not, and the notification's Show opens the Swarm view on its stack.
#[tokio::test]
async fn a_killed_replica_is_notified_with_the_swarm_view_closed_and_the_window_hidden() {
    let Window {
        _dir,
        swarm,
        notifications,
        app,
        service,
        row,
        ..
    } = Window::open(
        "swarm-bg",
        "services:\n  api:\n    image: berth-test/busybox:1\n    \
         command: [\"sh\", \"-c\", \"while true; do sleep 1; done\"]\n    \
         deploy:\n      replicas: 2\n      restart_policy: {condition: any, delay: 10s}\n",
    )
    .await;

    // Deployed and scaled 2 → 1 from the window, then the view closed.
    app.click("[data-testid=swarm-toggle]").await;
    app.click("[data-testid=swarm-deploy]").await;
    replicas_read(&app, &row, "2/2").await;
    app.fill(&format!("{row} [data-testid=swarm-scale-input]"), "1")
        .await;
    app.click(&format!("{row} [data-testid=swarm-scale]")).await;
    replicas_read(&app, &row, "1/1").await;
    app.click("[data-testid=swarm-toggle]").await;
    let closed = app
        .eval("return document.querySelector('[data-testid=swarm]') === null")
        .await;
    assert_eq!(closed, true, "the Swarm view is closed");
    app.hide_window().await;

    // Killed behind Berth's back: one notification, and the replica comes back.
    let (replica, filter, alert) = kill_replica(&swarm, &notifications, &service).await;
    until("the replica to come back", LONG, || {
        let running = swarm.docker(&["ps", "-q", "--filter", &filter]);
        if !running.is_empty() && running != replica {
            Ok(())
        } else {
            Err(running)
        }
    })
    .await;
    let told = notifications.received();
    assert_eq!(
        told.len(),
        1,
        "one notification, none for the scale: {told:?}"
    );

    // Show opens the window's Swarm view on the stack.
    notifications.invoke(alert.id, "default").await.unwrap();
    replicas_read(&app, &row, "1/1").await;
    app.quit().await;
}
