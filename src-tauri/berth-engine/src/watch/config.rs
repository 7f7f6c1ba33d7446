//! A service's `develop.watch`, read from the JSON berth-compose keeps it as (paths already
//! absolute), with compose-go's rules: a `path` and an `action` are required, `sync` actions need
//! a `target`, `rebuild` needs a `build:` and `sync+exec` an `exec.command`.

use std::path::PathBuf;

use berth_compose::Service;
use serde_json::Value;

/// What a change under a trigger's path does, in compose's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Sync,
    Rebuild,
    SyncRestart,
    SyncExec,
    Restart,
}

impl Action {
    fn parse(word: &str) -> Option<Action> {
        Some(match word {
            "sync" => Action::Sync,
            "rebuild" => Action::Rebuild,
            "sync+restart" => Action::SyncRestart,
            "sync+exec" => Action::SyncExec,
            "restart" => Action::Restart,
            _ => return None,
        })
    }

    /// Whether changed files are copied into the container.
    pub(crate) fn syncs(self) -> bool {
        matches!(self, Action::Sync | Action::SyncRestart | Action::SyncExec)
    }
}

/// `exec:` of a `sync+exec` trigger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Hook {
    pub command: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub privileged: bool,
    /// `KEY=VAL` entries.
    pub environment: Vec<String>,
}

/// One entry of `develop.watch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trigger {
    pub path: PathBuf,
    pub action: Action,
    /// Where `path` lands in the container (sync actions).
    pub target: Option<String>,
    pub ignore: Vec<String>,
    pub include: Vec<String>,
    pub initial_sync: bool,
    pub exec: Option<Hook>,
}

/// The service's triggers; none when it has no `develop.watch`. The error says what is wrong
/// with which entry.
pub(crate) fn triggers(service: &Service) -> Result<Vec<Trigger>, String> {
    let Some(watch) = service.extra.get("develop").and_then(|d| d.get("watch")) else {
        return Ok(Vec::new());
    };
    let Value::Array(entries) = watch else {
        return Err("develop.watch must be a list".into());
    };
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            trigger(entry, service.build.is_some()).map_err(|e| format!("develop.watch[{i}]: {e}"))
        })
        .collect()
}

fn trigger(entry: &Value, has_build: bool) -> Result<Trigger, String> {
    let path = str_field(entry, "path")?.ok_or("watch rules MUST define a path")?;
    let word = str_field(entry, "action")?.ok_or("missing `action`")?;
    let action = Action::parse(&word).ok_or_else(|| {
        format!("unknown action \"{word}\" (sync, rebuild, sync+restart, sync+exec, restart)")
    })?;
    let target = str_field(entry, "target")?;
    if action.syncs() && target.is_none() {
        return Err(format!("action {word} needs a `target` in the container"));
    }
    if action == Action::Rebuild && !has_build {
        return Err(format!(
            "action {word} needs a `build:` section in the service"
        ));
    }
    let exec = entry.get("exec").map(hook).transpose()?;
    if action == Action::SyncExec && exec.as_ref().is_none_or(|h| h.command.is_empty()) {
        return Err(format!("action {word} needs an `exec.command`"));
    }
    Ok(Trigger {
        path: PathBuf::from(path),
        action,
        target,
        ignore: strings(entry, "ignore")?,
        include: strings(entry, "include")?,
        initial_sync: bool_field(entry, "initial_sync")? || bool_field(entry, "x-initialSync")?,
        exec,
    })
}

fn hook(exec: &Value) -> Result<Hook, String> {
    let command = match exec.get("command") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => {
            shell_words::split(s).map_err(|e| format!("exec.command \"{s}\": {e}"))?
        }
        Some(_) => strings(exec, "command")?,
    };
    let environment = match exec.get("environment") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::Null => k.clone(),
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect(),
        Some(_) => strings(exec, "environment")?,
    };
    Ok(Hook {
        command,
        user: str_field(exec, "user")?,
        working_dir: str_field(exec, "working_dir")?,
        privileged: bool_field(exec, "privileged")?,
        environment,
    })
}

fn str_field(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

fn bool_field(v: &Value, key: &str) -> Result<bool, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(_) => Err(format!("`{key}` must be true or false")),
    }
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Ok(other.to_string()),
            })
            .collect(),
        Some(_) => Err(format!("`{key}` must be a list of strings")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(develop: Value, build: bool) -> Service {
        let mut s = Service::default();
        s.extra.insert("develop".into(), develop);
        if build {
            s.build = Some(berth_compose::Build::default());
        }
        s
    }

    #[test]
    fn each_action_and_its_fields_are_read() {
        let develop = serde_json::json!({"watch": [
            {"path": "/p/src", "action": "sync", "target": "/app", "ignore": ["*.tmp"],
             "include": ["*.js"], "initial_sync": true},
            {"path": "/p/pkg.json", "action": "rebuild"},
            {"path": "/p/conf", "action": "sync+restart", "target": "/etc/app"},
            {"path": "/p/x", "action": "sync+exec", "target": "/x",
             "exec": {"command": "touch /tmp/done", "user": "root", "working_dir": "/x",
                      "environment": {"A": "1"}}},
            {"path": "/p/y", "action": "restart"},
        ]});
        let t = triggers(&service(develop, true)).unwrap();
        assert_eq!(t.len(), 5);
        assert_eq!(t[0].path, PathBuf::from("/p/src"));
        assert_eq!(t[0].target.as_deref(), Some("/app"));
        assert_eq!(t[0].ignore, ["*.tmp"]);
        assert_eq!(t[0].include, ["*.js"]);
        assert!(t[0].initial_sync);
        assert_eq!(t[1].action, Action::Rebuild);
        assert_eq!(t[2].action, Action::SyncRestart);
        let hook = t[3].exec.as_ref().unwrap();
        assert_eq!(hook.command, ["touch", "/tmp/done"]);
        assert_eq!(hook.user.as_deref(), Some("root"));
        assert_eq!(hook.environment, ["A=1"]);
        assert_eq!(t[4].action, Action::Restart);
    }

    #[test]
    fn a_wrong_entry_is_named_with_what_it_lacks() {
        let sync = serde_json::json!({"watch": [{"path": "/p", "action": "sync"}]});
        let e = triggers(&service(sync, false)).unwrap_err();
        assert!(
            e.contains("develop.watch[0]") && e.contains("target"),
            "{e}"
        );
        let rebuild = serde_json::json!({"watch": [{"path": "/p", "action": "rebuild"}]});
        let e = triggers(&service(rebuild, false)).unwrap_err();
        assert!(e.contains("build:"), "{e}");
        let exec =
            serde_json::json!({"watch": [{"path": "/p", "action": "sync+exec", "target": "/x"}]});
        assert!(
            triggers(&service(exec, false))
                .unwrap_err()
                .contains("exec.command")
        );
        assert!(triggers(&Service::default()).unwrap().is_empty());
    }
}
