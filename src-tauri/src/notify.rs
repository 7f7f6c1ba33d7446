//! Desktop notifications when a service goes wrong by itself: it turns unhealthy, exits with an
//! error, keeps restarting or loses replicas. A stop the user asked for is not news.

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::commands::Berth;
use berth_engine::{Health, Problem, StackStatus};

use crate::view::{ServiceRow, StackView};

/// A notification: its title and body.
#[derive(Debug, PartialEq, Eq)]
pub struct Alert {
    pub title: String,
    pub body: String,
}

/// What went wrong between two views: services that now need attention and did not before.
/// Nothing is said about the first view of a stack (its problems are not news).
pub fn alerts(before: &StackView, after: &StackView) -> Vec<Alert> {
    if before.status == StackStatus::Unknown {
        return Vec::new();
    }
    after
        .services
        .iter()
        .filter(|row| row.status.problem.is_some())
        .filter(|row| {
            !before
                .services
                .iter()
                .any(|b| b.name == row.name && b.status.problem.is_some())
        })
        .map(|row| alert(row, after.project.loaded().map_or("", |p| &p.name)))
        .collect()
}

fn alert(row: &ServiceRow, project: &str) -> Alert {
    let title = format!("{project}: {}", row.name);
    let status = &row.status;
    let body = match status.problem {
        Some(Problem::Unhealthy) => {
            let output = status
                .health_log
                .last()
                .map(|s| s.trim())
                .unwrap_or_default();
            format!("is {}. Last check: {output}", Health::Unhealthy)
        }
        Some(Problem::Restarting) => {
            format!("keeps restarting ({} restarts)", status.restart_count)
        }
        Some(Problem::MissingReplicas) => {
            format!("runs {} of {} replicas", status.running, status.replicas)
        }
        // The window's word for it: `exited (3)`.
        Some(Problem::Exited | Problem::Dead) | None => format!("{} unexpectedly", status.label),
    };
    Alert { title, body }
}

/// Follows the view and notifies on every new alert, for as long as the app runs.
pub fn watch<R: Runtime>(app: &AppHandle<R>) {
    let mut views = app.state::<Berth>().watch();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut before = views.borrow_and_update().clone();
        while views.changed().await.is_ok() {
            let after = views.borrow_and_update().clone();
            for a in alerts(&before, &after) {
                show(&app, &a);
            }
            before = after;
        }
    });
}

/// Shows `alert` as a desktop notification.
pub fn show<R: Runtime>(app: &AppHandle<R>, alert: &Alert) {
    tracing::info!("notifying: {} {}", alert.title, alert.body);
    let shown = app
        .notification()
        .builder()
        .title(&alert.title)
        .body(&alert.body)
        .show();
    if let Err(err) = shown {
        // No notification service (a bare X server): the log has it.
        tracing::debug!("could not show a notification: {err}");
    }
}

#[cfg(test)]
mod tests {
    use berth_engine::{Container, ContainerState, Desired, Snapshot};

    use super::*;
    use crate::view::tests::{container, project, snapshot, version};

    /// The view of services `api` and `db` made of these containers, as the shell builds it.
    fn view(containers: Vec<Container>, stopped: &[&str]) -> StackView {
        let mut s: Snapshot = snapshot(containers, &["api", "db"]);
        for name in stopped {
            s.services.get_mut(*name).unwrap().desired = Desired::Stopped { replicas: 1 };
        }
        let mut v = StackView::new(project(&["api", "db"]));
        v.refresh(Some(&version()), Some(&s));
        v
    }

    fn up(service: &str, health: Option<Health>) -> Container {
        let mut c = container(service, ContainerState::Running, health, 0);
        c.health_log = vec!["ok".into(), "connection refused\n".into()];
        c.restart_count = 4;
        c
    }

    #[test]
    fn a_service_turning_unhealthy_or_crashing_is_notified_once_in_the_windows_words() {
        let healthy = view(vec![up("api", None), up("db", Some(Health::Healthy))], &[]);
        let crashed = container("api", ContainerState::Exited, None, 3);
        let broken = view(vec![crashed, up("db", Some(Health::Unhealthy))], &[]);
        assert_eq!(broken.services[0].status.label, "exited (3)");
        assert_eq!(
            alerts(&healthy, &broken),
            [
                Alert {
                    title: "p: api".into(),
                    body: "exited (3) unexpectedly".into()
                },
                Alert {
                    title: "p: db".into(),
                    body: "is unhealthy. Last check: connection refused".into()
                },
            ]
        );
        assert!(alerts(&broken, &broken).is_empty(), "not twice");
    }

    #[test]
    fn stops_and_the_first_view_are_not_news() {
        let running = view(vec![up("api", None)], &[]);
        let mut stopped = container("api", ContainerState::Exited, None, 143);
        stopped.stop_requested = true;
        let stopped = view(vec![stopped], &["api", "db"]);
        assert_eq!(stopped.services[0].status.label, "stopped");
        assert!(alerts(&running, &stopped).is_empty());
        let mut looping = up("api", None);
        looping.state = ContainerState::Restarting;
        let looping = view(vec![looping], &[]);
        let first = StackView::new(project(&["api", "db"]));
        assert_eq!(first.status, StackStatus::Unknown);
        assert!(alerts(&first, &looping).is_empty());
        assert_eq!(
            alerts(&running, &looping)[0].body,
            "keeps restarting (4 restarts)"
        );
    }
}
