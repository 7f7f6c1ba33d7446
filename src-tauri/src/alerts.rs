//! What Berth notifies ([`Alert`]), and alert rules: a service's log lines matching a regex
//! become desktop notifications, at most one per rule every [`QUIET`], the matches in between
//! counted. Matching runs here on the hub's lines (a subscription filtered to the rules'
//! services), never in the page.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use berth_engine::logs::{Delivery, Filter, Hub, Matcher, Search, SearchMode, Stream};
use tokio::sync::broadcast;

/// A notification: its title and body, and the service it is about.
#[derive(Debug, PartialEq, Eq)]
pub struct Alert {
    pub title: String,
    pub body: String,
    pub service: String,
}

/// The least time between two notifications of one rule.
pub const QUIET: Duration = Duration::from_secs(30);

/// Lines of `service` matching `pattern`.
pub struct Rule {
    pub service: String,
    pub pattern: String,
    matcher: Matcher,
    limiter: Limiter,
}

impl Rule {
    /// The rule, or what is wrong with its regex, naming the service.
    pub fn new(service: &str, pattern: &str) -> Result<Rule, String> {
        let search = Search {
            pattern: pattern.to_owned(),
            mode: SearchMode::Regex,
        };
        let matcher = Matcher::new(&search)
            .map_err(|e| format!("The alert for {service} is not a valid regex: {e}"))?;
        Ok(Rule {
            service: service.to_owned(),
            pattern: pattern.to_owned(),
            matcher,
            limiter: Limiter::new(QUIET),
        })
    }

    fn matches(&self, text: &str) -> bool {
        !self.matcher.find_all(text.as_bytes()).is_empty()
    }
}

/// At most one go every `quiet`; the hits in between are held and counted.
#[derive(Debug)]
pub struct Limiter {
    quiet: Duration,
    last: Option<Instant>,
    held: u64,
}

impl Limiter {
    pub fn new(quiet: Duration) -> Limiter {
        Limiter {
            quiet,
            last: None,
            held: 0,
        }
    }

    /// A hit at `now`: `Some(held)` when it may go (with the hits held back since the last
    /// that went), `None` when it is held back.
    pub fn hit(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.quiet)
        {
            self.held += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held))
    }
}

/// A line that set off a rule, ready to notify.
#[derive(Debug, Clone, PartialEq)]
pub struct LineAlert {
    pub title: String,
    pub body: String,
    pub service: String,
    /// The line's position in the hub, to reveal.
    pub pos: u64,
}

/// The rules of `project` in the settings' shape (service → regex); invalid ones are left out
/// with a warning (the window refuses them, so only a hand-edited file has any).
pub fn rules(project: &BTreeMap<String, String>) -> Vec<Rule> {
    project
        .iter()
        .filter_map(|(service, pattern)| {
            Rule::new(service, pattern)
                .inspect_err(|e| tracing::warn!("{e}"))
                .ok()
        })
        .collect()
}

/// What `rules` make of a line of `service`: the alerts due now.
pub fn check(
    rules: &mut [Rule],
    project: &str,
    service: &str,
    text: &str,
    pos: u64,
    now: Instant,
) -> Vec<LineAlert> {
    rules
        .iter_mut()
        .filter(|r| r.service == service && r.matches(text))
        .filter_map(|r| {
            let more = r.limiter.hit(now)?;
            let mut body = text.to_owned();
            if more > 0 {
                body = format!("{body} (and {more} more since the last alert)");
            }
            Some(LineAlert {
                title: format!("{project}: {service} logged /{}/", r.pattern),
                body,
                service: service.to_owned(),
                pos,
            })
        })
        .collect()
}

/// Checks the hub's new lines of the rules' services until the hub or `alerts` is gone.
pub async fn follow(
    hub: Hub,
    project: String,
    mut rules: Vec<Rule>,
    alerts: broadcast::Sender<LineAlert>,
) {
    if rules.is_empty() {
        return;
    }
    let filter = Filter {
        services: rules.iter().map(|r| r.service.clone()).collect(),
        ..Filter::default()
    };
    let mut deliveries = hub.subscribe(filter);
    while let Some(delivery) = deliveries.recv().await {
        // Lines missed in a flood are not checked: the rule's next match is told.
        let Delivery::Lines { lines, .. } = delivery else {
            continue;
        };
        let now = Instant::now();
        for line in lines.iter().filter(|l| l.stream != Stream::Berth) {
            for alert in check(
                &mut rules,
                &project,
                &line.service,
                &line.text,
                line.pos,
                now,
            ) {
                let _ = alerts.send(alert);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_alert_per_quiet_spell_and_the_rest_counted() {
        let t0 = Instant::now();
        let mut l = Limiter::new(QUIET);
        assert_eq!(l.hit(t0), Some(0));
        assert_eq!(l.hit(t0 + Duration::from_secs(1)), None);
        assert_eq!(l.hit(t0 + Duration::from_secs(29)), None);
        assert_eq!(l.hit(t0 + Duration::from_secs(30)), Some(2));
        assert_eq!(l.hit(t0 + Duration::from_secs(61)), Some(0));
    }

    #[test]
    fn a_rule_matches_its_services_lines_and_says_how_many_more() {
        let mut rules = vec![
            Rule::new("api", "panic|FATAL").unwrap(),
            Rule::new("db", "FATAL").unwrap(),
        ];
        let t0 = Instant::now();
        let first = check(&mut rules, "shop", "api", "thread panicked: boom", 7, t0);
        assert_eq!(
            first,
            [LineAlert {
                title: "shop: api logged /panic|FATAL/".into(),
                body: "thread panicked: boom".into(),
                service: "api".into(),
                pos: 7,
            }]
        );
        assert!(check(&mut rules, "shop", "api", "all fine", 8, t0).is_empty());
        assert!(check(&mut rules, "shop", "web", "FATAL", 9, t0).is_empty());
        assert_eq!(
            check(&mut rules, "shop", "db", "FATAL: no", 10, t0).len(),
            1
        );
        for pos in 11..14 {
            assert!(check(&mut rules, "shop", "api", "FATAL", pos, t0).is_empty());
        }
        let later = check(&mut rules, "shop", "api", "panic again", 20, t0 + QUIET);
        assert_eq!(
            later[0].body,
            "panic again (and 3 more since the last alert)"
        );
    }

    #[test]
    fn an_invalid_regex_names_the_service_and_is_left_out_of_the_rules() {
        let err = Rule::new("api", "panic(").err().unwrap();
        assert!(
            err.starts_with("The alert for api is not a valid regex"),
            "{err}"
        );
        let saved = BTreeMap::from([
            ("api".to_owned(), "panic(".to_owned()),
            ("db".to_owned(), "FATAL".to_owned()),
        ]);
        let kept: Vec<String> = rules(&saved).into_iter().map(|r| r.service).collect();
        assert_eq!(kept, ["db"]);
    }
}
