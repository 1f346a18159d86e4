//! A configuration with everything it extends, merged as zc.buildout's
//! `_open`, `_update` and `_update_section` do: the files of the `extends`
//! tree (then `optional-extends`) in depth-first order, each file laid over
//! the result so far; `+=`/`-=` fold into the value inherited at that point.
//! Sections with a `<=` macro keep their `+=`/`-=` keys until the section is
//! used (`session` expands macros the way `Options` does).

use super::omap::{py_split, OMap};
use super::parse::{parse, Parsed, Section, Sections, Value};
use crate::core::model::{Location, ManifestError};
use crate::readers::BranchFiles;

pub struct Config {
    pub sections: Sections,
    pub headers: OMap<Location>,
    /// Files read, in the order they were merged.
    pub files: Vec<String>,
}

pub type Outcome<T> = anyhow::Result<Result<T, Vec<ManifestError>>>;

/// Reads `file` (a branch path) and everything it extends.
pub fn load(tree: &dyn BranchFiles, file: &str) -> Outcome<Config> {
    let mut loader = Loader {
        tree,
        root_dir: parent(file).to_owned(),
        seen: Vec::new(),
    };
    let results = match loader.open(file, None)? {
        Ok(results) => results,
        Err(errors) => return Ok(Err(errors)),
    };
    let mut config = Config {
        sections: Sections::new(),
        headers: OMap::new(),
        files: Vec::new(),
    };
    for (path, parsed) in results {
        update(&mut config.sections, parsed.sections);
        for (name, at) in parsed.headers {
            if !config.headers.contains_key(&name) {
                config.headers.insert(name, at);
            }
        }
        if !config.files.contains(&path) {
            config.files.push(path);
        }
    }
    Ok(Ok(config))
}

struct Loader<'a> {
    tree: &'a dyn BranchFiles,
    /// The directory `bin/buildout` runs in: where `optional-extends` are
    /// looked for.
    root_dir: String,
    /// The files being opened, outermost first.
    seen: Vec<String>,
}

impl Loader<'_> {
    /// `_open`: the file and, before it, what it extends, each file once
    /// per mention.
    fn open(
        &mut self,
        path: &str,
        extended_at: Option<&Location>,
    ) -> Outcome<Vec<(String, Parsed)>> {
        let at = extended_at.cloned().unwrap_or(Location {
            file: path.to_owned(),
            line: None,
        });
        let chain = |seen: &[String]| [seen, &[path.to_owned()]].concat().join(" -> ");
        if self.seen.iter().any(|f| f == path) {
            let message = format!("extends cycle: {}", chain(&self.seen));
            return Ok(Err(vec![ManifestError { at, message }]));
        }
        let Some(bytes) = self.tree.read_file(path)? else {
            let message = match extended_at {
                Some(_) => format!(
                    "extends {path:?}, which does not exist (chain: {}); manifest files in the branch: {}",
                    chain(&self.seen),
                    self.tree.manifest_files()?.join(", ")
                ),
                None => format!("{path} does not exist"),
            };
            return Ok(Err(vec![ManifestError { at, message }]));
        };
        let Ok(text) = String::from_utf8(bytes) else {
            let message = format!("{path} is not UTF-8 text");
            return Ok(Err(vec![ManifestError { at, message }]));
        };
        let mut parsed = match parse(path, &text) {
            Ok(parsed) => parsed,
            Err(errors) => return Ok(Err(errors)),
        };
        let buildout = parsed.sections.get_mut("buildout");
        let (extends, optional) = match buildout {
            Some(options) => (
                options.remove("extends"),
                options.remove("optional-extends"),
            ),
            None => (None, None),
        };
        if let Some(value) = parsed
            .sections
            .get("buildout")
            .and_then(|o| o.get("extended-by"))
        {
            let message =
                "extended-by is no longer supported by zc.buildout; use extends in the other file"
                    .to_owned();
            return Ok(Err(vec![ManifestError {
                at: value.at.clone(),
                message,
            }]));
        }
        self.seen.push(path.to_owned());
        let mut results = Vec::new();
        for (value, optional) in [(extends, false), (optional, true)] {
            let Some(value) = value else { continue };
            for name in py_split(&value.text) {
                let joined = match join(self.tree, parent(path), name) {
                    Ok(joined) => joined,
                    Err(problem) => {
                        let message = format!("extends {name}: {problem}");
                        return Ok(Err(vec![ManifestError {
                            at: value.at,
                            message,
                        }]));
                    }
                };
                // zc.buildout looks for an optional file from where it runs,
                // then opens it relative to the including file.
                if optional {
                    let here = join(self.tree, &self.root_dir, name);
                    let exists = match here {
                        Ok(here) => {
                            self.tree.read_file(&here)?.is_some() || self.tree.is_dir(&here)?
                        }
                        Err(_) => false,
                    };
                    if !exists {
                        tracing::debug!("optional-extends file not found: {name}");
                        continue;
                    }
                }
                match self.open(&joined, Some(&value.at))? {
                    Ok(more) => results.extend(more),
                    Err(errors) => return Ok(Err(errors)),
                }
            }
        }
        self.seen.pop();
        results.push((path.to_owned(), parsed));
        Ok(Ok(results))
    }
}

/// The directory part of a path (`""` for a file at the branch root).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(at) => &path[..at],
        None => "",
    }
}

/// `os.path.join(dir, name)`, normalized. Paths leaving the branch (`../`,
/// absolute) are only readable where the branch is a directory on disk.
pub fn join(tree: &dyn BranchFiles, dir: &str, name: &str) -> Result<String, String> {
    if is_url(name) {
        return Err("only files can be extended, not URLs".to_owned());
    }
    let outside = tree.reaches_outside();
    if name.starts_with('/') && !outside {
        return Err(
            "an absolute path; name a file of the manifest branch, relative to the including file"
                .to_owned(),
        );
    }
    let joined = if name.starts_with('/') || dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    };
    let normalized = normalize(&joined);
    if normalized.starts_with("..") && !outside {
        return Err("it points outside the manifest branch".to_owned());
    }
    Ok(normalized)
}

/// Lexical normalization that keeps leading `..` of a relative path.
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// zc.buildout's `_isurl`: a scheme followed by `://`.
pub fn is_url(name: &str) -> bool {
    name.find("://").is_some_and(|at| {
        at > 0
            && name[..at]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    })
}

/// `_update`: lays the sections of one file over `base`.
pub fn update(base: &mut Sections, over: Sections) {
    for (name, section) in over {
        if let Some(existing) = base.get(&name) {
            let merged = update_section(existing, &section);
            base.insert(name, merged);
        } else if !section.contains_key("<") {
            // The section is new: `+=` acts as `=`, `-=` as an empty `=`.
            let mut temp = section.clone();
            let mut keys: Vec<String> = section.keys().cloned().collect();
            keys.sort();
            for key in keys {
                let (Some(op), Some(base_key)) =
                    (key.chars().last(), key.get(..key.len().saturating_sub(2)))
                else {
                    continue;
                };
                if !matches!(op, '+' | '-') || temp.contains_key(base_key) {
                    continue;
                }
                let mut value = temp.remove(&key).expect("the key is in the section");
                if op == '-' {
                    // Every line removes itself.
                    value.text = String::new();
                }
                temp.insert(base_key.to_owned(), value);
            }
            base.insert(name, update_section(&Section::new(), &temp));
        } else {
            base.insert(name, section);
        }
    }
}

/// `_update_section`: `over`'s values replace `base`'s; its `+=`/`-=` keys
/// add lines to, or remove lines from, the value `over` itself sets or
/// else the one `base` has.
pub fn update_section(base: &Section, over: &Section) -> Section {
    let mut result = base.clone();
    let mut over = over.clone();
    let mut items: Vec<(String, Value)> =
        over.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    items.sort_by(|(a, _), (b, _)| sort_key(a).cmp(&sort_key(b)));
    for (key, value) in items {
        let (target, add) = if key.ends_with('+') {
            (key.trim_end_matches([' ', '+']), true)
        } else if key.ends_with('-') {
            (key.trim_end_matches([' ', '-']), false)
        } else {
            continue;
        };
        let mut current = over
            .get(target)
            .or_else(|| base.get(target))
            .cloned()
            .unwrap_or(Value {
                text: String::new(),
                at: value.at.clone(),
            });
        current.text = if add {
            format!("{}\n{}", current.text, value.text)
        } else {
            remove_lines(&current.text, &value.text)
        };
        current.at = value.at;
        over.insert(target.to_owned(), current);
        over.remove(&key);
    }
    for (key, value) in over {
        result.insert(key, value);
    }
    result
}

/// `(key.rstrip(' +'), key[-1])`: `+=` sorts before `=` before `-=`.
fn sort_key(key: &str) -> (&str, char) {
    (
        key.trim_end_matches([' ', '+']),
        key.chars().last().unwrap_or(' '),
    )
}

/// The lines of `value` that are not exactly one of `removed`'s lines.
pub fn remove_lines(value: &str, removed: &str) -> String {
    let removed: Vec<&str> = removed.split('\n').collect();
    value
        .split('\n')
        .filter(|line| !removed.contains(line))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(pairs: &[(&str, &str)]) -> Section {
        let mut s = Section::new();
        for (k, v) in pairs {
            s.insert(
                (*k).to_owned(),
                Value {
                    text: (*v).to_owned(),
                    at: Location::default(),
                },
            );
        }
        s
    }

    fn texts(s: &Section) -> Vec<(String, String)> {
        s.iter().map(|(k, v)| (k.clone(), v.text.clone())).collect()
    }

    #[test]
    fn add_and_remove_against_the_inherited_value() {
        let base = section(&[("eggs", "a\nb"), ("x", "1")]);
        let over = section(&[("eggs -", "a"), ("eggs +", "c"), ("y", "2")]);
        let merged = update_section(&base, &over);
        assert_eq!(
            texts(&merged),
            [
                ("eggs".into(), "b\nc".into()),
                ("x".into(), "1".into()),
                ("y".into(), "2".into())
            ]
        );
        let over = section(&[("eggs", "z"), ("eggs +", "c")]);
        assert_eq!(texts(&update_section(&base, &over))[0].1, "z\nc");
        // Nothing inherited: `+=` adds to an empty value.
        assert_eq!(
            texts(&update_section(&Section::new(), &section(&[("e +", "c")])))[0].1,
            "\nc"
        );
    }

    #[test]
    fn new_sections_and_macros() {
        let mut base = Sections::new();
        let mut over = Sections::new();
        over.insert("a".into(), section(&[("eggs +", "x"), ("parts -", "p")]));
        over.insert("m".into(), section(&[("<", "a"), ("eggs +", "y")]));
        update(&mut base, over);
        assert_eq!(
            texts(base.get("a").unwrap()),
            [("eggs".into(), "x".into()), ("parts".into(), "".into())]
        );
        assert_eq!(
            texts(base.get("m").unwrap())[1],
            ("eggs +".into(), "y".into())
        );
    }

    #[test]
    fn paths() {
        assert_eq!(normalize("a/../../b/./c"), "../b/c");
        assert_eq!(normalize("/a/../../b"), "/b");
        assert_eq!(parent("a/b.cfg"), "a");
        assert_eq!(parent("b.cfg"), "");
        assert!(is_url("https://x/y.cfg"));
        assert!(!is_url("a/b://c"));
    }
}
