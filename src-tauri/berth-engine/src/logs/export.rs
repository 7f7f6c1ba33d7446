//! Writing the current filtered view to a file.

use std::io::{self, Write};
use std::path::Path;

use serde::Deserialize;
use ts_rs::TS;

use super::line::format_rfc3339;
use super::store::Store;

/// How exported lines look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, TS)]
#[serde(default)]
pub struct ExportOptions {
    /// Start each line with its RFC 3339 timestamp.
    pub timestamps: bool,
    /// Start each line with `<service>-<n> | `, as `docker compose logs` does.
    pub prefix: bool,
    /// Keep escape sequences (colours) as the container wrote them.
    pub raw: bool,
}

/// Writes the lines at `positions` (those still held), one per line.
pub fn write(
    store: &Store,
    positions: &[u64],
    options: ExportOptions,
    out: &mut impl Write,
) -> io::Result<()> {
    for &pos in positions {
        let text = if options.raw {
            store.raw(pos)
        } else {
            store.text(pos)
        };
        let Some(text) = text else { continue };
        if options.timestamps {
            let ts = store.timestamp(pos).unwrap_or_default();
            write!(out, "{} ", format_rfc3339(ts))?;
        }
        if options.prefix
            && let Some(source) = store.source_at(pos)
        {
            if source.container.is_empty() {
                // Berth's own line, which no container wrote.
                write!(out, "{} (berth) | ", source.service)?;
            } else {
                let name = source
                    .container
                    .rfind(&format!("-{}-", source.service))
                    .map_or(&source.container[..], |i| &source.container[i + 1..]);
                write!(out, "{name} | ")?;
            }
        }
        out.write_all(text)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes the lines at `positions` to a new file at `path` (replacing any).
pub fn to_file(
    store: &Store,
    positions: &[u64],
    options: ExportOptions,
    path: &Path,
) -> io::Result<()> {
    let mut out = io::BufWriter::new(std::fs::File::create(path)?);
    write(store, positions, options, &mut out)?;
    out.into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::line::Stream;
    use crate::logs::query::{Filter, select};

    #[test]
    fn exports_the_filtered_view() {
        let mut s = Store::new(1 << 20);
        let web = s.source("web", "proj-web-1");
        let db = s.source("db", "proj-db-1");
        s.push(web, Stream::Stdout, 1_000_000_000, b"\x1b[32mok\x1b[0m");
        s.push(db, Stream::Stdout, 2_000_000_000, b"db line");
        let view = select(
            &s,
            &Filter {
                services: vec!["web".into()],
                ..Filter::default()
            },
            None,
        );
        let dir = std::env::temp_dir().join(format!("berth-export-{}", std::process::id()));
        let opts = ExportOptions {
            timestamps: true,
            prefix: true,
            raw: false,
        };
        to_file(&s, &view, opts, &dir).unwrap();
        let got = std::fs::read_to_string(&dir).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(got, "1970-01-01T00:00:01.000000000Z web-1 | ok\n");
        let mut raw = Vec::new();
        let opts = ExportOptions {
            raw: true,
            ..ExportOptions::default()
        };
        write(&s, &view, opts, &mut raw).unwrap();
        assert_eq!(raw, b"\x1b[32mok\x1b[0m\n");
    }

    #[test]
    fn berths_own_lines_are_prefixed_as_berths() {
        let mut s = Store::new(1 << 20);
        let own = s.source("web", "");
        s.push(own, Stream::Berth, 1, b"Synced 1 file into service \"web\"");
        let mut out = Vec::new();
        let opts = ExportOptions {
            prefix: true,
            ..ExportOptions::default()
        };
        write(&s, &[0], opts, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "web (berth) | Synced 1 file into service \"web\"\n"
        );
    }
}
