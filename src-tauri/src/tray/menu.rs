//! What the tray menu says, as plain data: the shown project's status and actions, then every
//! compose project on the engine with its state, Start/Stop, and Restart/Logs per service. The
//! icon rebuilds its menu only when this model changes (not per log line or metric tick).

use berth_engine::{ProjectSummary, StackStatus};

use crate::view::{ServiceRow, StackView};

/// The most projects listed; the rest are in the window.
pub const MAX_PROJECTS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayMenu {
    /// The tooltip and the menu's first line: the shown project and its status.
    pub tooltip: String,
    pub status: StackStatus,
    /// No action underway on the shown project.
    pub idle: bool,
    /// Whether any service can be watched, and whether any is.
    pub watch: (bool, bool),
    /// The shown project first, then those with running containers, then the rest.
    pub projects: Vec<ProjectEntry>,
    /// How many projects were left out.
    pub more: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectEntry {
    pub name: String,
    /// `● name — 2/3`: a state mark, running and all containers.
    pub title: String,
    /// Offered when not all run, and when any runs.
    pub start: bool,
    pub stop: bool,
    pub services: Vec<ServiceEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    pub name: String,
    /// The service's submenu title: its status line for the shown project, else its name.
    pub title: String,
}

/// What a click on an entry asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Click {
    Start { project: String },
    Stop { project: String },
    Open { project: String },
    Restart { project: String, service: String },
    Logs { project: String, service: String },
}

impl TrayMenu {
    /// The menu for the `shown` project's view and the engine's `listing` (none yet: only the
    /// shown project).
    pub fn new(shown: &StackView, listing: &[ProjectSummary]) -> TrayMenu {
        let shown_name = shown.project.loaded().map(|p| p.name.as_str());
        let mut projects: Vec<ProjectEntry> = Vec::new();
        if let Some(name) = shown_name {
            let (running, total) = match listing.iter().find(|p| p.name == name) {
                Some(p) => (p.running, p.containers),
                None => (
                    shown
                        .services
                        .iter()
                        .filter(|r| r.status.running > 0)
                        .count(),
                    shown.services.len(),
                ),
            };
            let mark = if shown.status == StackStatus::Degraded {
                "✖"
            } else {
                mark(running, total)
            };
            let idle = shown.action.is_none();
            projects.push(ProjectEntry {
                name: name.to_owned(),
                title: format!("{mark} {name} — {running}/{total} · open"),
                // No containers yet: Start creates them.
                start: idle && (total == 0 || running < total),
                stop: idle && running > 0,
                services: (shown.services.iter())
                    .map(|row| ServiceEntry {
                        name: row.name.clone(),
                        title: service_line(row),
                    })
                    .collect(),
            });
        }
        let mut others: Vec<&ProjectSummary> = (listing.iter())
            .filter(|p| Some(p.name.as_str()) != shown_name)
            .collect();
        others.sort_by_key(|p| (p.running == 0, p.name.clone()));
        let room = MAX_PROJECTS.saturating_sub(projects.len());
        let more = others.len().saturating_sub(room);
        projects.extend(others.into_iter().take(room).map(|p| {
            ProjectEntry {
                name: p.name.clone(),
                title: format!(
                    "{} {} — {}/{}",
                    mark(p.running, p.containers),
                    p.name,
                    p.running,
                    p.containers
                ),
                start: p.running < p.containers,
                stop: p.running > 0,
                services: (p.services.iter())
                    .map(|s| ServiceEntry {
                        name: s.clone(),
                        title: s.clone(),
                    })
                    .collect(),
            }
        }));
        TrayMenu {
            tooltip: format!(
                "Berth: {} {}",
                shown_name.unwrap_or("invalid project"),
                shown.status.label()
            ),
            status: shown.status,
            idle: shown.action.is_none(),
            watch: watch_item(shown),
            projects,
            more,
        }
    }

    /// What the entry `id` (one of [`TrayMenu::ids`]) asks for, by the names this menu shows.
    pub fn click(&self, id: &str) -> Option<Click> {
        let rest = id.strip_prefix('p')?;
        let (p, rest) = rest.split_once(':')?;
        let project = self.projects.get(p.parse::<usize>().ok()?)?;
        let name = project.name.clone();
        match rest {
            "start" => Some(Click::Start { project: name }),
            "stop" => Some(Click::Stop { project: name }),
            "open" => Some(Click::Open { project: name }),
            _ => {
                let (s, what) = rest.strip_prefix('s')?.split_once(':')?;
                let service = project.services.get(s.parse::<usize>().ok()?)?.name.clone();
                match what {
                    "restart" => Some(Click::Restart {
                        project: name,
                        service,
                    }),
                    "logs" => Some(Click::Logs {
                        project: name,
                        service,
                    }),
                    _ => None,
                }
            }
        }
    }
}

/// The ids of a project's entries: `p{i}:start|stop|open`, `p{i}:s{j}:restart|logs`.
pub fn project_id(project: usize, what: &str) -> String {
    format!("p{project}:{what}")
}

pub fn service_id(project: usize, service: usize, what: &str) -> String {
    format!("p{project}:s{service}:{what}")
}

/// ● all running, ◐ some, ○ none.
fn mark(running: usize, total: usize) -> &'static str {
    match running {
        0 => "○",
        r if r >= total => "●",
        _ => "◐",
    }
}

/// The service's label (with its health), as the window and `berthctl ps` word it, and what
/// watch mode last did for it.
fn service_line(row: &ServiceRow) -> String {
    let mark = if row.status.problem.is_some() {
        "✖"
    } else if row.status.running > 0 {
        "●"
    } else {
        "○"
    };
    let watch = row.watch.as_ref().map(|w| format!(" · {}", w.summary()));
    format!(
        "{mark} {}: {}{}",
        row.name,
        row.status.summary(),
        watch.unwrap_or_default()
    )
}

/// The Watch item: whether any service can be watched, and whether any is.
pub fn watch_item(view: &StackView) -> (bool, bool) {
    let watchable = view.services.iter().any(|r| r.watchable);
    (watchable, view.services.iter().any(|r| r.watch.is_some()))
}

#[cfg(test)]
mod tests {
    use berth_engine::{ContainerState, Desired, Health};

    use super::*;
    use crate::view::tests::{container, project, snapshot, version};

    fn listed(name: &str, running: usize, containers: usize, services: &[&str]) -> ProjectSummary {
        ProjectSummary {
            name: name.to_owned(),
            status: String::new(),
            config_files: String::new(),
            running,
            containers,
            services: services.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn titles(menu: &TrayMenu) -> Vec<&str> {
        menu.projects.iter().map(|p| p.title.as_str()).collect()
    }

    #[test]
    fn the_tooltip_names_the_project_and_status_and_each_service_gets_its_line() {
        let mut view = StackView::new(project(&["db", "web"]));
        let db = container("db", ContainerState::Running, Some(Health::Healthy), 0);
        view.refresh(None, Some(&snapshot(vec![db], &["db", "web"])));
        let menu = TrayMenu::new(&view, &[]);
        assert_eq!(menu.tooltip, "Berth: p unknown");
        assert_eq!(titles(&menu), ["◐ p — 1/2 · open"]);
        let lines: Vec<&str> = (menu.projects[0].services.iter())
            .map(|s| s.title.as_str())
            .collect();
        assert_eq!(lines, ["● db: running (healthy)", "○ web: not created"]);
    }

    #[test]
    fn a_stop_you_asked_for_reads_stopped_as_in_the_window() {
        let mut web = container("web", ContainerState::Exited, None, 143);
        web.stop_requested = true;
        let mut s = snapshot(vec![web], &["web"]);
        s.services.get_mut("web").unwrap().desired = Desired::Stopped { replicas: 1 };
        let mut view = StackView::new(project(&["web"]));
        view.refresh(Some(&version()), Some(&s));
        let menu = TrayMenu::new(&view, &[listed("p", 0, 1, &["web"])]);
        assert_eq!(menu.tooltip, "Berth: p stopped");
        assert_eq!(menu.projects[0].services[0].title, "○ web: stopped");
        assert_eq!(
            (menu.projects[0].start, menu.projects[0].stop),
            (true, false)
        );
    }

    #[test]
    fn every_listed_project_follows_the_open_one_running_first_with_start_and_stop_by_state() {
        let view = StackView::new(project(&["web"]));
        let listing = [
            listed("zeta", 2, 2, &["api", "db"]),
            listed("alpha", 0, 3, &["a"]),
            listed("p", 1, 1, &["web"]),
            listed("mid", 1, 3, &["x", "y"]),
        ];
        let menu = TrayMenu::new(&view, &listing);
        assert_eq!(
            titles(&menu),
            [
                "● p — 1/1 · open",
                "◐ mid — 1/3",
                "● zeta — 2/2",
                "○ alpha — 0/3"
            ]
        );
        let offered: Vec<(bool, bool)> = menu.projects.iter().map(|p| (p.start, p.stop)).collect();
        assert_eq!(
            offered,
            [(false, true), (true, true), (false, true), (true, false)]
        );
        let zeta: Vec<&str> = (menu.projects[2].services.iter())
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(zeta, ["api", "db"]);
        assert_eq!(menu.more, 0);
    }

    #[test]
    fn an_action_underway_on_the_open_project_disables_its_start_and_stop() {
        let mut view = StackView::new(project(&["web"]));
        view.action = Some(crate::view::ActionRequest {
            action: crate::view::Action::Up,
            services: Vec::new(),
        });
        let menu = TrayMenu::new(&view, &[listed("p", 0, 1, &["web"])]);
        assert!(!menu.idle);
        assert_eq!(
            (menu.projects[0].start, menu.projects[0].stop),
            (false, false)
        );
    }

    #[test]
    fn the_list_stops_at_twenty_projects_and_counts_the_rest() {
        let view = StackView::new(project(&["web"]));
        let listing: Vec<ProjectSummary> = (0..30)
            .map(|i| listed(&format!("s{i:02}"), usize::from(i >= 25), 1, &["a"]))
            .collect();
        let menu = TrayMenu::new(&view, &listing);
        assert_eq!(menu.projects.len(), MAX_PROJECTS);
        assert_eq!(menu.more, 30 + 1 - MAX_PROJECTS);
        assert_eq!(menu.projects[1].name, "s25", "running ones first");
        assert_eq!(menu.projects[6].name, "s00");
    }

    #[test]
    fn a_click_names_the_project_and_service_the_menu_showed() {
        let mut view = StackView::new(project(&["web"]));
        view.refresh(None, Some(&snapshot(vec![], &["web"])));
        let menu = TrayMenu::new(&view, &[listed("other", 1, 2, &["api", "db"])]);
        let project = |p: &str| p.to_owned();
        assert_eq!(
            menu.click(&project_id(1, "stop")),
            Some(Click::Stop {
                project: project("other")
            })
        );
        assert_eq!(
            menu.click(&project_id(0, "start")),
            Some(Click::Start {
                project: project("p")
            })
        );
        assert_eq!(
            menu.click(&project_id(1, "open")),
            Some(Click::Open {
                project: project("other")
            })
        );
        assert_eq!(
            menu.click(&service_id(1, 1, "restart")),
            Some(Click::Restart {
                project: project("other"),
                service: "db".to_owned()
            })
        );
        assert_eq!(
            menu.click(&service_id(0, 0, "logs")),
            Some(Click::Logs {
                project: project("p"),
                service: "web".to_owned()
            })
        );
        for stray in [
            "p2:stop",
            "p1:s2:logs",
            "p1:s0:rm",
            "p1:kill",
            "quit",
            "p:stop",
        ] {
            assert_eq!(menu.click(stray), None, "{stray}");
        }
    }

    #[test]
    fn a_watched_service_line_says_what_watch_mode_did_and_the_menu_has_watch() {
        let mut view = StackView::new(project(&["web"]));
        view.refresh(None, Some(&snapshot(vec![], &["web"])));
        assert_eq!(watch_item(&view), (false, false), "nothing to watch");
        view.services[0].watchable = true;
        assert_eq!(watch_item(&view), (true, false));
        view.services[0].watch = Some(crate::view::WatchState::Synced {
            files: 1,
            at: String::new(),
        });
        assert_eq!(watch_item(&view), (true, true));
        let menu = TrayMenu::new(&view, &[]);
        assert_eq!(
            menu.projects[0].services[0].title,
            "○ web: not created · synced 1 file"
        );
    }
}
