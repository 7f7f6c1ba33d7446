//! Short syntax → compose's canonical long syntax (compose-go's `transform` package), so that
//! merging, normalization and the model see one shape per field.

use crate::error::Error;
use crate::node::{Entry, Node, Span, Value, last_wins};
use crate::paths::is_windows_abs;
use crate::units;

/// Canonicalizes every service and top-level resource of a validated document.
pub fn canonical(doc: &mut Node) -> Result<(), Error> {
    if let Some(Value::Map(services)) = doc.get_mut("services").map(|n| &mut n.value) {
        for s in services {
            service(&mut s.value)?;
        }
    }
    for kind in ["networks", "volumes", "secrets", "configs"] {
        if let Some(Value::Map(items)) = doc.get_mut(kind).map(|n| &mut n.value) {
            for item in items {
                external(&mut item.value);
            }
        }
    }
    Ok(())
}

/// One service, in place.
pub fn service(s: &mut Node) -> Result<(), Error> {
    if s.as_map().is_none() {
        return Ok(());
    }
    if let Some(b) = s.get_mut("build") {
        if let Value::Str(ctx) = &b.value {
            let ctx = Node::str(ctx.clone(), &b.span);
            b.value = Value::Map(vec![entry("context", ctx)]);
        }
        for key in ["args", "labels"] {
            if let Some(n) = b.get_mut(key) {
                to_mapping(n);
            }
        }
    }
    if let Some(e) = s.get_mut("extends")
        && let Value::Str(name) = &e.value
    {
        let name = Node::str(name.clone(), &e.span);
        e.value = Value::Map(vec![entry("service", name)]);
    }
    for key in ["environment", "labels", "annotations", "sysctls"] {
        if let Some(n) = s.get_mut(key) {
            to_mapping(n);
        }
    }
    if let Some(n) = s.get_mut("depends_on") {
        depends_on(n);
    }
    if let Some(n) = s.get_mut("networks")
        && let Value::Seq(items) = &n.value
    {
        let entries = items
            .iter()
            .filter_map(|i| {
                Some(entry(
                    &i.scalar_string()?,
                    Node::new(Value::Null, i.span.clone()),
                ))
            })
            .collect();
        n.value = Value::Map(entries);
    }
    if let Some(n) = s.get_mut("env_file") {
        env_file(n);
    }
    if let Some(n) = s.get_mut("ports") {
        ports(n)?;
    }
    if let Some(Value::Seq(items)) = s.get_mut("expose").map(|n| &mut n.value) {
        for i in items {
            if let Some(v) = i.scalar_string() {
                i.value = Value::Str(v);
            }
        }
    }
    if let Some(Value::Seq(items)) = s.get_mut("volumes").map(|n| &mut n.value) {
        for i in items {
            if let Value::Str(spec) = &i.value {
                *i = volume(spec, &i.span)?;
            }
        }
    }
    for (key, prefix) in [("secrets", "/run/secrets/"), ("configs", "/")] {
        if let Some(Value::Seq(items)) = s.get_mut(key).map(|n| &mut n.value) {
            for i in items {
                file_mount(i, prefix);
            }
        }
    }
    for key in ["command", "entrypoint"] {
        if let Some(n) = s.get_mut(key) {
            shell_command(n)?;
        }
    }
    if let Some(h) = s.get_mut("healthcheck") {
        if let Some(t) = h.get_mut("test")
            && let Value::Str(cmd) = &t.value
        {
            let items = vec![
                Node::str("CMD-SHELL", &t.span),
                Node::str(cmd.clone(), &t.span),
            ];
            t.value = Value::Seq(items);
        }
        for key in ["interval", "timeout", "start_period", "start_interval"] {
            if let Some(d) = h.get_mut(key) {
                duration(d)?;
            }
        }
    }
    if let Some(d) = s.get_mut("stop_grace_period") {
        duration(d)?;
    }
    if let Some(dep) = s.get_mut("deploy")
        && let Some(res) = dep.get_mut("resources")
    {
        for part in ["limits", "reservations"] {
            if let Some(p) = res.get_mut(part) {
                if let Some(m) = p.get_mut("memory") {
                    bytes(m)?;
                }
                if let Some(c) = p.get_mut("cpus")
                    && let Value::Str(v) = &c.value
                    && let Ok(f) = v.parse::<f64>()
                {
                    c.value = Value::Float(f);
                }
            }
        }
    }
    for key in ["mem_limit", "mem_reservation", "memswap_limit", "shm_size"] {
        if let Some(m) = s.get_mut(key) {
            bytes(m)?;
        }
    }
    Ok(())
}

fn entry(key: &str, value: Node) -> Entry {
    Entry {
        key: key.to_owned(),
        key_span: value.span.clone(),
        value,
    }
}

/// `["K=V", "K"]` → `{K: V, K: null}`; mapping values become strings (null stays null).
pub fn to_mapping(n: &mut Node) {
    let entries: Vec<Entry> = match &n.value {
        Value::Seq(items) => items
            .iter()
            .filter_map(|i| {
                let s = i.scalar_string()?;
                Some(match s.split_once('=') {
                    Some((k, v)) => entry(k, Node::str(v, &i.span)),
                    None => entry(&s, Node::new(Value::Null, i.span.clone())),
                })
            })
            .collect(),
        Value::Map(m) => m
            .iter()
            .map(|e| {
                let mut v = e.value.clone();
                if let Some(s) = v.scalar_string() {
                    v.value = Value::Str(s);
                }
                Entry {
                    key: e.key.clone(),
                    key_span: e.key_span.clone(),
                    value: v,
                }
            })
            .collect(),
        _ => return,
    };
    n.value = Value::Map(last_wins(entries));
}

fn depends_on(n: &mut Node) {
    if let Value::Seq(items) = &n.value {
        let entries = items
            .iter()
            .filter_map(|i| Some(entry(&i.scalar_string()?, Node::map(Vec::new(), &i.span))))
            .collect();
        n.value = Value::Map(entries);
    }
    if let Value::Map(m) = &mut n.value {
        for e in m {
            let span = e.value.span.clone();
            if e.value.is_null() {
                e.value = Node::map(Vec::new(), &span);
            }
            if e.value.get("condition").is_none() {
                e.value
                    .insert("condition", Node::str("service_started", &span));
            }
            if e.value.get("required").is_none() {
                e.value
                    .insert("required", Node::new(Value::Bool(true), span.clone()));
            }
        }
    }
}

fn env_file(n: &mut Node) {
    if let Value::Str(_) = n.value {
        n.value = Value::Seq(vec![n.clone()]);
    }
    if let Value::Seq(items) = &mut n.value {
        for i in items {
            if let Value::Str(p) = &i.value {
                let path = Node::str(p.clone(), &i.span);
                *i = Node::map(vec![entry("path", path)], &i.span);
            }
            if i.get("required").is_none() {
                let span = i.span.clone();
                i.insert("required", Node::new(Value::Bool(true), span));
            }
        }
    }
}

fn file_mount(i: &mut Node, target_prefix: &str) {
    if let Value::Str(src) = &i.value {
        let source = Node::str(src.clone(), &i.span);
        *i = Node::map(vec![entry("source", source)], &i.span);
    }
    if i.get("target").is_none()
        && let Some(src) = i.get("source").and_then(Node::as_str)
    {
        let target = Node::str(format!("{target_prefix}{src}"), &i.span);
        i.insert("target", target);
    }
    for key in ["uid", "gid"] {
        if let Some(v) = i.get_mut(key)
            && let Some(s) = v.scalar_string()
        {
            v.value = Value::Str(s);
        }
    }
    // File modes print in octal, as compose does.
    if let Some(m) = i.get_mut("mode")
        && let Value::Int(mode) = m.value
    {
        m.value = Value::Str(format!("0{mode:o}"));
    }
}

fn external(n: &mut Node) {
    if let Some(ext) = n.get("external")
        && let Some(name) = ext.get("name").cloned()
    {
        let span = ext.span.clone();
        n.insert("external", Node::new(Value::Bool(true), span));
        if n.get("name").is_none() {
            n.insert("name", name);
        }
    }
}

fn shell_command(n: &mut Node) -> Result<(), Error> {
    if let Value::Str(cmd) = &n.value {
        let words = shell_words::split(cmd).map_err(|e| Error::Invalid {
            at: n.span.location(),
            path: "command".into(),
            message: format!("cannot split \"{cmd}\" into words: {e}"),
        })?;
        n.value = Value::Seq(words.into_iter().map(|w| Node::str(w, &n.span)).collect());
    }
    Ok(())
}

fn duration(n: &mut Node) -> Result<(), Error> {
    let text = match &n.value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => format!("{i}s"),
        _ => return Ok(()),
    };
    let d = units::parse_duration(&text).ok_or_else(|| Error::Invalid {
        at: n.span.location(),
        path: "duration".into(),
        message: format!("invalid duration \"{text}\""),
    })?;
    n.value = Value::Str(units::format_duration(d));
    Ok(())
}

fn bytes(n: &mut Node) -> Result<(), Error> {
    let b = match &n.value {
        Value::Str(s) => units::parse_bytes(s).ok_or_else(|| Error::Invalid {
            at: n.span.location(),
            path: "memory".into(),
            message: format!("invalid size \"{s}\""),
        })?,
        Value::Int(i) => *i,
        _ => return Ok(()),
    };
    n.value = Value::Str(b.to_string());
    Ok(())
}

/// Short volume syntax `[SOURCE:]TARGET[:MODE]` (compose-go `format.ParseVolume`).
pub fn volume(spec: &str, span: &Span) -> Result<Node, Error> {
    let invalid = |msg: &str| Error::Invalid {
        at: span.location(),
        path: "volumes".into(),
        message: format!("invalid spec: {spec}: {msg}"),
    };
    if spec.is_empty() {
        return Err(invalid("invalid empty volume spec"));
    }
    let (mut source, mut target, mut options) = (None::<String>, None::<String>, Vec::new());
    let chars: Vec<char> = spec.chars().collect();
    let mut sections: Vec<String> = Vec::new();
    let mut buf = String::new();
    for (i, &c) in chars.iter().enumerate() {
        // `C:` of a Windows drive is not a separator.
        let drive = c == ':'
            && buf.len() == 1
            && buf.chars().all(|b| b.is_ascii_alphabetic())
            && matches!(chars.get(i + 1), Some('\\' | '/'));
        if c == ':' && !drive {
            sections.push(std::mem::take(&mut buf));
        } else {
            buf.push(c);
        }
    }
    sections.push(buf);
    if spec.chars().count() <= 2 {
        sections = vec![spec.to_owned()];
    }
    let n = sections.len();
    for (i, sec) in sections.into_iter().enumerate() {
        if sec.is_empty() {
            return Err(invalid("empty section between colons"));
        }
        if n == 1 {
            target = Some(sec);
        } else if source.is_none() {
            source = Some(sec);
        } else if target.is_none() {
            target = Some(sec);
        } else if i == n - 1 {
            options = sec.split(',').map(str::to_owned).collect();
        } else {
            return Err(invalid("too many colons"));
        }
    }
    let mut entries = Vec::new();
    let is_bind = source.as_deref().is_some_and(is_file_path);
    let ty = if is_bind { "bind" } else { "volume" };
    entries.push(entry("type", Node::str(ty, span)));
    if let Some(s) = source {
        entries.push(entry("source", Node::str(s, span)));
    }
    let target = crate::paths::clean(std::path::Path::new(&target.unwrap_or_default()));
    entries.push(entry("target", Node::str(target.to_string_lossy(), span)));
    let mut bind = vec![entry(
        "create_host_path",
        Node::new(Value::Bool(true), span.clone()),
    )];
    let mut vol = Vec::new();
    for o in &options {
        match o.as_str() {
            "ro" => entries.push(entry(
                "read_only",
                Node::new(Value::Bool(true), span.clone()),
            )),
            "nocopy" => vol.push(entry("nocopy", Node::new(Value::Bool(true), span.clone()))),
            "z" | "Z" => bind.push(entry("selinux", Node::str(o.clone(), span))),
            "rprivate" | "private" | "rshared" | "shared" | "rslave" | "slave" => {
                bind.insert(0, entry("propagation", Node::str(o.clone(), span)));
            }
            _ => {}
        }
    }
    if is_bind {
        entries.push(entry("bind", Node::map(bind, span)));
    } else {
        entries.push(entry("volume", Node::map(vol, span)));
    }
    Ok(Node::map(entries, span))
}

pub fn is_file_path(s: &str) -> bool {
    s.starts_with(['.', '/', '~']) || s.starts_with("\\\\") || is_windows_abs(s)
}

fn ports(n: &mut Node) -> Result<(), Error> {
    let Value::Seq(items) = &n.value else {
        return Ok(());
    };
    let mut out = Vec::new();
    for i in items {
        match &i.value {
            Value::Map(_) => {
                let mut p = i.clone();
                if let Some(v) = p.get_mut("published")
                    && let Some(s) = v.scalar_string()
                {
                    v.value = Value::Str(s);
                }
                if p.get("mode").is_none() {
                    p.insert("mode", Node::str("ingress", &i.span));
                }
                if p.get("protocol").is_none() {
                    p.insert("protocol", Node::str("tcp", &i.span));
                }
                out.push(p);
            }
            _ => {
                let spec = i.scalar_string().unwrap_or_default();
                for p in parse_port(&spec).map_err(|reason| Error::InvalidPort {
                    at: i.span.location(),
                    value: spec.clone(),
                    reason,
                })? {
                    out.push(port_node(&p, &i.span));
                }
            }
        }
    }
    n.value = Value::Seq(out);
    Ok(())
}

/// One port mapping in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub host_ip: String,
    pub target: u32,
    pub published: String,
    pub protocol: String,
}

fn port_node(p: &PortSpec, span: &Span) -> Node {
    let mut e = vec![entry("mode", Node::str("ingress", span))];
    if !p.host_ip.is_empty() {
        e.push(entry("host_ip", Node::str(p.host_ip.clone(), span)));
    }
    e.push(entry(
        "target",
        Node::new(Value::Int(p.target.into()), span.clone()),
    ));
    if !p.published.is_empty() {
        e.push(entry("published", Node::str(p.published.clone(), span)));
    }
    e.push(entry("protocol", Node::str(p.protocol.clone(), span)));
    Node::map(e, span)
}

/// Short port syntax `[[IP:]HOST[-RANGE]:]CONTAINER[-RANGE][/PROTO]`, as docker's
/// `nat.ParsePortSpec`: ranges expand to one mapping per container port.
pub fn parse_port(spec: &str) -> Result<Vec<PortSpec>, String> {
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_owned()),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let n = parts.len();
    let container = parts[n - 1];
    let (ip, host) = match n {
        1 => (String::new(), ""),
        2 => (String::new(), parts[0]),
        3 => (parts[0].to_owned(), parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2]),
    };
    let ip = ip
        .strip_prefix('[')
        .and_then(|i| i.strip_suffix(']'))
        .map_or(ip.clone(), str::to_owned);
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container.is_empty() {
        return Err(format!("no port specified: {spec}<empty>"));
    }
    let (start, end) =
        port_range(container).ok_or_else(|| format!("invalid containerPort: {container}"))?;
    let (hstart, hend) = if host.is_empty() {
        (0, 0)
    } else {
        port_range(host).ok_or_else(|| format!("invalid hostPort: {host}"))?
    };
    if !host.is_empty() && end - start != hend - hstart && end != start {
        return Err(format!(
            "invalid ranges specified for container and host Ports: {container} and {host}"
        ));
    }
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let mut out = Vec::new();
    for i in 0..=(end - start) {
        let mut published = if host.is_empty() {
            String::new()
        } else {
            (hstart + i).to_string()
        };
        if start == end && hstart != hend {
            published = format!("{published}-{hend}");
        }
        out.push(PortSpec {
            host_ip: ip.clone(),
            target: start + i,
            published,
            protocol: proto.clone(),
        });
    }
    // docker sorts by the "port/proto" string.
    out.sort_by_key(|p| format!("{}/{}", p.target, p.protocol));
    Ok(out)
}

fn port_range(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.parse().ok()?;
    let b: u16 = b.parse().ok()?;
    (b >= a).then_some((a.into(), b.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(spec: &str) -> Vec<(String, u32, String, String)> {
        parse_port(spec)
            .unwrap()
            .into_iter()
            .map(|p| (p.host_ip, p.target, p.published, p.protocol))
            .collect()
    }

    fn t(ip: &str, target: u32, published: &str, proto: &str) -> (String, u32, String, String) {
        (ip.into(), target, published.into(), proto.into())
    }

    #[test]
    fn ports_short_syntax() {
        assert_eq!(p("80"), vec![t("", 80, "", "tcp")]);
        assert_eq!(p("8080:80"), vec![t("", 80, "8080", "tcp")]);
        assert_eq!(
            p("127.0.0.1:8080:80/udp"),
            vec![t("127.0.0.1", 80, "8080", "udp")]
        );
        assert_eq!(p("[::1]:8080:80"), vec![t("::1", 80, "8080", "tcp")]);
        assert_eq!(
            p("8000-8001:9000-9001"),
            vec![t("", 9000, "8000", "tcp"), t("", 9001, "8001", "tcp")]
        );
        assert_eq!(p("8000-8010:80"), vec![t("", 80, "8000-8010", "tcp")]);
        assert_eq!(
            p("3000-3001"),
            vec![t("", 3000, "", "tcp"), t("", 3001, "", "tcp")]
        );
    }

    #[test]
    fn ports_invalid() {
        for bad in [
            "70000:80",
            "80:abc",
            "1-2:3-5",
            "80/icmp",
            "999.1.1.1:80:80",
            "8080:",
        ] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn volumes_short_syntax() {
        let span = Span::file_only(std::sync::Arc::from(std::path::Path::new("f")));
        let v = volume("./data:/data:ro,z", &span).unwrap().to_json();
        assert_eq!(v["type"], "bind");
        assert_eq!(v["source"], "./data");
        assert_eq!(v["read_only"], true);
        assert_eq!(v["bind"]["selinux"], "z");
        let v = volume("db:/var/lib/db", &span).unwrap().to_json();
        assert_eq!(v["type"], "volume");
        assert_eq!(v["volume"], serde_json::json!({}));
        let v = volume("/anon", &span).unwrap().to_json();
        assert_eq!(v["target"], "/anon");
        assert!(v.get("source").is_none());
        let v = volume("C:\\data:/data", &span).unwrap().to_json();
        assert_eq!(v["source"], "C:\\data");
        assert!(volume(":/media/", &span).is_err());
    }
}
