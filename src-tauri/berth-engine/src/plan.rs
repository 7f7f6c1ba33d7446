//! What converging one service must do to its containers: pure, so it is tested without Docker.

use std::collections::BTreeSet;

/// A container of the service as it exists on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub id: String,
    pub name: String,
    pub number: u32,
    pub running: bool,
    /// It has the name the service gives its number. A recreate that was killed midway leaves
    /// the new container under its temporary name, `<old id[:12]>_<name>`.
    pub named: bool,
    /// Its configuration matches the service's: same config hash, same image.
    pub up_to_date: bool,
}

/// One step on one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Create {
        number: u32,
    },
    Recreate {
        old: Existing,
    },
    Start {
        existing: Existing,
    },
    Keep {
        existing: Existing,
    },
    /// Finishes a recreate that was killed midway: the container takes its proper name, then is
    /// kept or started.
    Rename {
        existing: Existing,
    },
    Remove {
        existing: Existing,
    },
}

/// The steps that bring `existing` to `replicas` up-to-date, running containers: keep the
/// lowest-numbered, one per number, remove the rest, recreate what changed, create what is
/// missing (filling free numbers from 1, as compose does after a scale-down). Of two containers
/// with one number (a killed recreate leaves the old one and its replacement), the properly named
/// one stays; a replacement left alone takes the name. Removals come first, so every name they
/// hold is free when another container takes it.
pub fn plan(replicas: u32, existing: &[Existing], force_recreate: bool) -> Vec<Step> {
    let mut sorted: Vec<&Existing> = existing.iter().collect();
    sorted.sort_by_key(|e| (e.number, !e.named, !e.up_to_date, e.name.clone()));
    let mut steps = Vec::new();
    let mut numbers = BTreeSet::new();
    for e in sorted {
        let e = e.clone();
        if numbers.len() as u32 >= replicas || !numbers.insert(e.number) {
            steps.push(Step::Remove { existing: e });
        } else if force_recreate || !e.up_to_date {
            steps.push(Step::Recreate { old: e });
        } else if !e.named {
            steps.push(Step::Rename { existing: e });
        } else if e.running {
            steps.push(Step::Keep { existing: e });
        } else {
            steps.push(Step::Start { existing: e });
        }
    }
    steps.sort_by_key(|s| !matches!(s, Step::Remove { .. }));
    let missing = replicas.saturating_sub(numbers.len() as u32);
    let free = (1..)
        .filter(|n| !numbers.contains(n))
        .take(missing as usize);
    steps.extend(free.map(|number| Step::Create { number }));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing(number: u32, running: bool, up_to_date: bool) -> Existing {
        Existing {
            id: format!("id{number}"),
            name: format!("p-s-{number}"),
            number,
            running,
            named: true,
            up_to_date,
        }
    }

    /// The replacement a recreate of `existing(number, ..)` killed midway left behind.
    fn replacement(number: u32, up_to_date: bool) -> Existing {
        Existing {
            id: format!("new{number}"),
            name: format!("0123456789ab_p-s-{number}"),
            running: false,
            named: false,
            ..existing(number, false, up_to_date)
        }
    }

    #[test]
    fn nothing_existing_creates_every_replica() {
        assert_eq!(
            plan(2, &[], false),
            vec![Step::Create { number: 1 }, Step::Create { number: 2 }]
        );
    }

    #[test]
    fn an_unchanged_running_service_is_kept_and_a_stopped_one_started() {
        let running = existing(1, true, true);
        assert_eq!(
            plan(1, std::slice::from_ref(&running), false),
            vec![Step::Keep { existing: running }]
        );
        let stopped = existing(1, false, true);
        assert_eq!(
            plan(1, std::slice::from_ref(&stopped), false),
            vec![Step::Start { existing: stopped }]
        );
    }

    #[test]
    fn changed_containers_are_recreated_and_force_recreates_all() {
        let old = existing(1, true, false);
        assert_eq!(
            plan(1, std::slice::from_ref(&old), false),
            vec![Step::Recreate { old: old.clone() }]
        );
        let same = existing(1, true, true);
        assert_eq!(
            plan(1, std::slice::from_ref(&same), true),
            vec![Step::Recreate { old: same }]
        );
    }

    #[test]
    fn scaling_down_removes_the_highest_and_up_fills_free_numbers() {
        let three = [
            existing(1, true, true),
            existing(2, true, true),
            existing(3, true, true),
        ];
        assert_eq!(
            plan(1, &three, false),
            [
                Step::Remove {
                    existing: three[1].clone()
                },
                Step::Remove {
                    existing: three[2].clone()
                },
                Step::Keep {
                    existing: three[0].clone()
                },
            ]
        );
        let gap = [existing(2, true, true)];
        assert_eq!(
            plan(3, &gap, false)[1..],
            [Step::Create { number: 1 }, Step::Create { number: 3 }]
        );
    }

    #[test]
    fn a_recreate_killed_midway_keeps_the_named_container_or_finishes_the_rename() {
        // Killed before the old container went: the named one stays, whatever the names sort as.
        let old = existing(1, false, true);
        let new = replacement(1, true);
        let second = existing(2, true, true);
        assert_eq!(
            plan(2, &[new.clone(), old.clone(), second.clone()], false),
            [
                Step::Remove { existing: new },
                Step::Start { existing: old },
                Step::Keep { existing: second },
            ]
        );
        // Killed after: the replacement takes the name, or a new container does if it changed.
        let alone = replacement(1, true);
        assert_eq!(
            plan(1, std::slice::from_ref(&alone), false),
            [Step::Rename { existing: alone }]
        );
        let changed = replacement(1, false);
        assert_eq!(
            plan(1, std::slice::from_ref(&changed), false),
            [Step::Recreate { old: changed }]
        );
    }
}
