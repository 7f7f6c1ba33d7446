//! Desktop notifications when a service goes wrong by itself: it turns unhealthy, exits with an
//! error, keeps restarting or loses replicas. A stop the user asked for is not news.

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::commands::Berth;
use crate::view::{ServiceRow, StackStatus, StackView};

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
        .filter(|row| row.problem)
        .filter(|row| {
            !before
                .services
                .iter()
                .any(|b| b.name == row.name && b.problem)
        })
        .map(|row| alert(row, after.project.loaded().map_or("", |p| &p.name)))
        .collect()
}

fn alert(row: &ServiceRow, project: &str) -> Alert {
    let title = format!("{project}: {}", row.name);
    let body = if row.health == "unhealthy" {
        let output = row.health_log.last().map(|s| s.trim()).unwrap_or_default();
        format!("is unhealthy. Last check: {output}")
    } else if row.state == "restarting" {
        format!("keeps restarting ({} restarts)", row.restart_count)
    } else if row.state == "exited" || row.state == "dead" {
        format!(
            "exited unexpectedly with code {}",
            row.exit_code.unwrap_or_default()
        )
    } else {
        format!("runs {} of {} replicas", row.running, row.replicas)
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
                tracing::info!("notifying: {} {}", a.title, a.body);
                let shown = app
                    .notification()
                    .builder()
                    .title(&a.title)
                    .body(&a.body)
                    .show();
                if let Err(err) = shown {
                    // No notification service (a bare X server): the log has it.
                    tracing::debug!("could not show a notification: {err}");
                }
            }
            before = after;
        }
    });
}

#[cfg(test)]
mod tests {
    use berth_engine::Desired;

    use super::*;
    use crate::project::{ProjectStatus, ProjectView};

    fn row(name: &str, state: &str, health: &str, exit: Option<i64>, problem: bool) -> ServiceRow {
        ServiceRow {
            name: name.into(),
            image: String::new(),
            desired: Desired::Running { replicas: 1 },
            state: state.into(),
            running: u32::from(state == "running"),
            replicas: 1,
            health: health.into(),
            health_log: vec!["ok".into(), "connection refused\n".into()],
            started_at: String::new(),
            restart_count: 4,
            exit_code: exit,
            ports: vec![],
            problem,
        }
    }

    fn view(status: StackStatus, services: Vec<ServiceRow>) -> StackView {
        let mut v = StackView::new(ProjectStatus::Loaded(ProjectView {
            name: "shop".into(),
            files: vec![],
            profiles: vec![],
            active_profiles: vec![],
            services: vec![],
        }));
        v.status = status;
        v.services = services;
        v
    }

    #[test]
    fn a_service_turning_unhealthy_or_crashing_is_notified_once() {
        let healthy = view(
            StackStatus::Healthy,
            vec![
                row("db", "running", "healthy", None, false),
                row("api", "running", "", None, false),
            ],
        );
        let broken = view(
            StackStatus::Degraded,
            vec![
                row("db", "running", "unhealthy", None, true),
                row("api", "exited", "", Some(3), true),
            ],
        );
        assert_eq!(
            alerts(&healthy, &broken),
            [
                Alert {
                    title: "shop: db".into(),
                    body: "is unhealthy. Last check: connection refused".into()
                },
                Alert {
                    title: "shop: api".into(),
                    body: "exited unexpectedly with code 3".into()
                },
            ]
        );
        assert!(alerts(&broken, &broken).is_empty(), "not twice");
    }

    #[test]
    fn stops_and_the_first_view_are_not_news() {
        let running = view(
            StackStatus::Healthy,
            vec![row("api", "running", "", None, false)],
        );
        // A requested stop leaves the row without a problem.
        let stopped = view(
            StackStatus::Stopped,
            vec![row("api", "exited", "", Some(143), false)],
        );
        assert!(alerts(&running, &stopped).is_empty());
        let first = view(StackStatus::Unknown, vec![]);
        let crashed = view(
            StackStatus::Degraded,
            vec![row("api", "restarting", "", None, true)],
        );
        assert!(alerts(&first, &crashed).is_empty());
        assert_eq!(
            alerts(&running, &crashed)[0].body,
            "keeps restarting (4 restarts)"
        );
    }
}
