//! The service dependency graph: start order, what a subset pulls in, and cycles.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Project;

/// Finds a cycle in `edges` (service → services it depends on), as the path that closes it
/// (`a -> b -> a`). Services are visited in name order so the answer is stable.
pub fn find_cycle(edges: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    for start in edges.keys() {
        if marks.contains_key(start.as_str()) {
            continue;
        }
        // Iterative DFS: (node, next edge index); the stack is the current path.
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::Active);
        while let Some((node, i)) = stack.last_mut() {
            let deps = edges.get(*node).map(Vec::as_slice).unwrap_or_default();
            if let Some(dep) = deps.get(*i) {
                *i += 1;
                match marks.get(dep.as_str()) {
                    Some(Mark::Active) => {
                        let from = stack.iter().position(|(n, _)| n == dep).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[from..].iter().map(|(n, _)| n.to_string()).collect();
                        cycle.push(dep.clone());
                        return Some(cycle);
                    }
                    Some(Mark::Done) => {}
                    None => {
                        if edges.contains_key(dep) {
                            marks.insert(dep, Mark::Active);
                            stack.push((dep, 0));
                        }
                    }
                }
            } else {
                marks.insert(node, Mark::Done);
                stack.pop();
            }
        }
    }
    None
}

impl Project {
    fn edges(&self) -> BTreeMap<String, Vec<String>> {
        self.services
            .iter()
            .map(|(name, s)| (name.clone(), s.depends_on.keys().cloned().collect()))
            .collect()
    }

    /// Services in an order where each comes after everything it depends on; ties by name.
    /// Loading already refused cycles, so every enabled service is listed.
    pub fn start_order(&self) -> Vec<String> {
        let edges = self.edges();
        let mut done: BTreeSet<String> = BTreeSet::new();
        let mut order = Vec::with_capacity(edges.len());
        while order.len() < edges.len() {
            let ready: Vec<String> = edges
                .iter()
                .filter(|(n, deps)| {
                    !done.contains(*n)
                        && deps
                            .iter()
                            .all(|d| done.contains(d) || !edges.contains_key(d))
                })
                .map(|(n, _)| n.clone())
                .collect();
            if ready.is_empty() {
                break;
            }
            for n in ready {
                done.insert(n.clone());
                order.push(n);
            }
        }
        order
    }

    /// `names` plus every service they depend on, directly or not.
    pub fn with_dependencies<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> = names.into_iter().map(str::to_owned).collect();
        while let Some(n) = todo.pop() {
            if !out.insert(n.clone()) {
                continue;
            }
            if let Some(s) = self.services.get(&n) {
                todo.extend(s.depends_on.keys().cloned());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn cycles_are_printed_as_paths() {
        let e = edges(&[
            ("service1", &["service2"]),
            ("service2", &["service3"]),
            ("service3", &["service1"]),
        ]);
        assert_eq!(
            find_cycle(&e).unwrap().join(" -> "),
            "service1 -> service2 -> service3 -> service1"
        );
        let e = edges(&[("a", &["a"])]);
        assert_eq!(find_cycle(&e).unwrap(), vec!["a", "a"]);
        let e = edges(&[("a", &["b"]), ("b", &[]), ("c", &["a", "b"])]);
        assert!(find_cycle(&e).is_none());
    }
}
