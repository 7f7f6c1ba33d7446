//! The loading pipeline, in compose-go's order: read and parse each file, interpolate, validate,
//! canonicalize, resolve `extends` and `include`, merge over what came before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Location};
use crate::merge::{merge, strip_tags};
use crate::node::{Node, Span, Value};
use crate::{canonical, dotenv, interpolate, limits, paths, read, schema, yaml};

/// Reads an env file (named at `at`) into key/value pairs; `lookup` resolves inherited keys and
/// references.
pub fn read_env_file(
    path: &Path,
    at: &Location,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, Error> {
    let text = read::text(path, "env file", at)?;
    dotenv::parse(&text, lookup).map_err(|e| Error::EnvSyntax {
        at: Location::at(path, e.line, 1),
        message: e.message,
    })
}

/// Loads compose files for one project (or one included sub-project).
pub struct Loader {
    pub env: BTreeMap<String, String>,
    pub home: Option<String>,
}

impl Loader {
    fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |k| self.env.get(k).cloned()
    }

    /// Parses a file (a `kind` named at `at`) into interpolated, validated, canonical documents.
    fn documents(
        &self,
        path: &Path,
        kind: &'static str,
        at: &Location,
    ) -> Result<Vec<Node>, Error> {
        let text = read::text(path, kind, at)?;
        let file: Arc<Path> = Arc::from(path);
        let docs = yaml::parse(&text, &file)?;
        if docs.is_empty() {
            return Err(Error::Empty {
                at: Location::file(path),
            });
        }
        let lookup = self.lookup();
        let mut out = Vec::with_capacity(docs.len());
        for mut doc in docs {
            if doc.as_map().is_none() {
                return Err(Error::WrongType {
                    at: doc.span.location(),
                    path: "(root)".into(),
                    expected: "a mapping".into(),
                });
            }
            interpolate::interpolate(&mut doc, &lookup)?;
            schema::validate(&doc)?;
            canonical::canonical(&mut doc)?;
            out.push(doc);
        }
        Ok(out)
    }

    /// Loads `path` (a `kind` named at `at`) and merges it over `dict`. `chain` holds the files
    /// including this one.
    pub fn load_file(
        &self,
        path: &Path,
        (kind, at): (&'static str, &Location),
        dict: &mut Node,
        chain: &[PathBuf],
    ) -> Result<(), Error> {
        for mut doc in self.documents(path, kind, at)? {
            self.apply_extends(&mut doc, path)?;
            self.apply_include(&mut doc, path, chain)?;
            merge(dict, doc, &mut Vec::new());
            strip_tags(dict);
        }
        Ok(())
    }

    fn apply_extends(&self, doc: &mut Node, file: &Path) -> Result<(), Error> {
        let Some(services) = doc.get_mut("services") else {
            return Ok(());
        };
        let names: Vec<String> = services
            .as_map()
            .map(|m| m.iter().map(|e| e.key.clone()).collect())
            .unwrap_or_default();
        for name in names {
            self.extend(services, &name, file, &mut Vec::new())?;
        }
        Ok(())
    }

    /// Replaces service `name` by its `extends` base with the service merged over it.
    fn extend(
        &self,
        services: &mut Node,
        name: &str,
        file: &Path,
        stack: &mut Vec<(PathBuf, String)>,
    ) -> Result<(), Error> {
        let Some(service) = services.get(name) else {
            return Ok(());
        };
        let Some(ext) = service.get("extends") else {
            return Ok(());
        };
        let at = ext.span.location();
        let base_name = ext
            .get("service")
            .and_then(Node::scalar_string)
            .unwrap_or_default();
        let base_file = ext.get("file").and_then(Node::as_str).map(|f| {
            let dir = file.parent().unwrap_or(Path::new("."));
            PathBuf::from(paths::absolute(f, dir, self.home.as_deref()))
        });
        let key = (file.to_path_buf(), name.to_owned());
        if let Some(first) = stack.iter().position(|k| *k == key) {
            return Err(Error::ExtendsCycle {
                at,
                chain: cycle(&stack[first..], &key),
            });
        }
        if stack.len() >= limits::EXTENDS_DEPTH {
            return Err(Error::TooDeep {
                at,
                what: "a chain of `extends`",
                limit: limits::EXTENDS_DEPTH,
            });
        }
        stack.push(key);
        let undefined = |at: Location| Error::Undefined {
            at,
            service: name.to_owned(),
            kind: "service",
            name: base_name.clone(),
        };
        let base = match &base_file {
            Some(other) => {
                let mut dict = Node::map(Vec::new(), &Span::file_only(Arc::from(other.as_path())));
                for doc in self.documents(other, "extended file", &at)? {
                    merge(&mut dict, doc, &mut Vec::new());
                }
                let mut theirs = dict
                    .remove("services")
                    .ok_or_else(|| undefined(at.clone()))?;
                self.extend(&mut theirs, &base_name, other, stack)?;
                let mut b = theirs
                    .remove(&base_name)
                    .ok_or_else(|| undefined(at.clone()))?;
                // The base's relative paths belong to the file that declared them.
                let dir = other.parent().unwrap_or(Path::new("."));
                paths::resolve_service(&mut b, dir, self.home.as_deref());
                b
            }
            None => {
                self.extend(services, &base_name, file, stack)?;
                services
                    .get(&base_name)
                    .cloned()
                    .ok_or_else(|| undefined(at.clone()))?
            }
        };
        stack.pop();
        let mut merged = base;
        merged.remove("extends");
        let mut over = services
            .get(name)
            .cloned()
            .unwrap_or_else(|| merged.clone());
        over.remove("extends");
        let mut path = vec!["services".to_owned(), name.to_owned()];
        merge(&mut merged, over, &mut path);
        services.insert(name, merged);
        Ok(())
    }

    fn apply_include(&self, doc: &mut Node, file: &Path, chain: &[PathBuf]) -> Result<(), Error> {
        let Some(include) = doc.remove("include") else {
            return Ok(());
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        for item in include.as_seq().into_iter().flatten() {
            let at = item.span.location();
            if chain.len() > limits::INCLUDE_DEPTH {
                return Err(Error::TooDeep {
                    at,
                    what: "a chain of `include`",
                    limit: limits::INCLUDE_DEPTH,
                });
            }
            let (files, project_dir, env_files) = include_item(item);
            let files: Vec<PathBuf> = files
                .iter()
                .map(|f| PathBuf::from(paths::absolute(f, dir, self.home.as_deref())))
                .collect();
            let Some(first) = files.first() else {
                continue;
            };
            if files.iter().any(|f| chain.contains(f)) {
                let mut cycle = chain.to_vec();
                cycle.push(first.clone());
                return Err(Error::IncludeCycle { at, chain: cycle });
            }
            let sub_dir = project_dir
                .map(|d| PathBuf::from(paths::absolute(&d, dir, self.home.as_deref())))
                .unwrap_or_else(|| first.parent().unwrap_or(dir).to_path_buf());
            let mut env = self.env.clone();
            let env_paths: Vec<PathBuf> = if env_files.is_empty() {
                vec![sub_dir.join(".env")]
                    .into_iter()
                    .filter(|p| read::optional(p))
                    .collect()
            } else {
                env_files
                    .iter()
                    .map(|f| PathBuf::from(paths::absolute(f, dir, self.home.as_deref())))
                    .collect()
            };
            for p in env_paths {
                for (k, v) in read_env_file(&p, &at, &|k| self.env.get(k).cloned())? {
                    env.entry(k).or_insert(v);
                }
            }
            for f in &files {
                read::regular(f, "included file", &at)?;
            }
            let sub = Loader {
                env,
                home: self.home.clone(),
            };
            let mut sub_dict = Node::map(Vec::new(), &item.span);
            for f in &files {
                let mut sub_chain = chain.to_vec();
                sub_chain.push(f.clone());
                sub.load_file(f, ("included file", &at), &mut sub_dict, &sub_chain)?;
            }
            paths::resolve_doc(&mut sub_dict, &sub_dir, self.home.as_deref());
            import(doc, sub_dict)?;
        }
        Ok(())
    }
}

/// An `extends` cycle as the services it goes through, `a -> b -> a`; a service of another
/// file than the first is named with its file.
fn cycle(stack: &[(PathBuf, String)], back: &(PathBuf, String)) -> Vec<String> {
    let file = &stack[0].0;
    stack
        .iter()
        .chain([back])
        .map(|(f, name)| {
            if f == file {
                name.clone()
            } else {
                format!("{name} ({})", f.display())
            }
        })
        .collect()
}

/// `include:` item as (files, project_directory, env_files).
fn include_item(item: &Node) -> (Vec<String>, Option<String>, Vec<String>) {
    let list = |n: Option<&Node>| -> Vec<String> {
        match n {
            Some(Node {
                value: Value::Str(s),
                ..
            }) => vec![s.clone()],
            Some(Node {
                value: Value::Seq(items),
                ..
            }) => items.iter().filter_map(Node::scalar_string).collect(),
            _ => Vec::new(),
        }
    };
    match &item.value {
        Value::Str(s) => (vec![s.clone()], None, Vec::new()),
        _ => (
            list(item.get("path")),
            item.get("project_directory")
                .and_then(Node::as_str)
                .map(str::to_owned),
            list(item.get("env_file")),
        ),
    }
}

/// Adds an included model's resources; a resource defined differently on both sides is an error.
fn import(doc: &mut Node, included: Node) -> Result<(), Error> {
    let Value::Map(kinds) = included.value else {
        return Ok(());
    };
    for kind in kinds {
        if !matches!(
            kind.key.as_str(),
            "services" | "networks" | "volumes" | "secrets" | "configs" | "models"
        ) {
            continue;
        }
        if doc.get(&kind.key).is_none() {
            doc.insert(&kind.key, Node::map(Vec::new(), &kind.value.span));
        }
        let target = doc.get_mut(&kind.key).expect("inserted above");
        for e in kind.value.as_map().into_iter().flatten() {
            match target.get(&e.key) {
                Some(existing) if existing.to_json() != e.value.to_json() => {
                    return Err(Error::Invalid {
                        at: existing.span.location(),
                        path: format!("{}.{}", kind.key, e.key),
                        message: format!(
                            "imported compose file {} defines conflicting {}",
                            e.value.span.file.display(),
                            kind.key.trim_end_matches('s')
                        ),
                    });
                }
                Some(_) => {}
                None => target.insert(&e.key, e.value.clone()),
            }
        }
    }
    Ok(())
}
