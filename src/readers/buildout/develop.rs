//! `[buildout] develop`: the directories zc.buildout installs as develop
//! eggs before anything else. `local/*` (however it is spelled: `./local/*`,
//! `${buildout:directory}/local/*`) is the instance's override directory,
//! so it switches local overrides on. Any other entry is a directory of the
//! manifest branch: a `path` component installed as python, named after
//! the project it declares; its egg needs no pin.

use super::config::normalize;
use super::effective::{absolute_dir, DIRECTORY};
use crate::core::model::{Location, ManifestError};
use crate::readers::BranchFiles;

#[derive(Debug, Default)]
pub struct Develop {
    pub local_overrides: bool,
    pub trees: Vec<Tree>,
}

#[derive(Debug, Clone)]
pub struct Tree {
    /// A directory of the branch; `.` for the branch root.
    pub path: String,
    pub project: String,
}

/// `path` relative to `dir` when it is `dir` or inside it.
fn inside<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    if path == dir {
        return Some("");
    }
    path.strip_prefix(dir)?.strip_prefix('/')
}

pub fn develop(
    tree: &dyn BranchFiles,
    root: &str,
    entries: &[String],
    at: &Location,
    errors: &mut Vec<ManifestError>,
) -> anyhow::Result<Develop> {
    let base = absolute_dir(root);
    let mut develop = Develop::default();
    let mut fail = |message: String| {
        errors.push(ManifestError {
            at: at.clone(),
            message,
        })
    };
    for entry in entries {
        // zc.buildout joins each entry to its directory (absolute ones stay).
        let absolute = normalize(&if entry.starts_with('/') {
            entry.clone()
        } else {
            format!("{base}/{entry}")
        });
        if inside(&absolute, &base).is_some_and(|rel| rel == "local" || rel.starts_with("local/")) {
            develop.local_overrides = true;
            continue;
        }
        let Some(path) = inside(&absolute, DIRECTORY) else {
            fail(format!(
                "develop {entry}: {absolute} is outside the manifest branch; lava-deploy installs \
                 directories of the branch, and local/* overrides"
            ));
            continue;
        };
        let dirs = if path.contains(['*', '?', '[']) {
            glob(tree, path)?
        } else {
            existing(tree, path)?.into_iter().collect()
        };
        if dirs.is_empty() {
            tracing::warn!("develop {entry}: no such directory in the manifest branch (zc.buildout skips it too)");
        }
        for dir in dirs {
            let read = |file: &str| {
                let path = if dir.is_empty() {
                    file.to_owned()
                } else {
                    format!("{dir}/{file}")
                };
                tree.read_file(&path)
                    .ok()
                    .flatten()
                    .and_then(|b| String::from_utf8(b).ok())
            };
            let shown = if dir.is_empty() { "." } else { dir.as_str() };
            match crate::core::project::project_name(read) {
                Some(project) => develop.trees.push(Tree {
                    path: shown.to_owned(),
                    project,
                }),
                None => fail(format!(
                    "develop {entry}: the directory {shown} declares no project name lava-deploy can \
                     read (pyproject.toml [project] name, setup.cfg [metadata] name, a literal \
                     name='…' in setup.py, or PKG-INFO)"
                )),
            }
        }
    }
    Ok(develop)
}

/// The directory a non-glob entry names: itself, or the directory of a
/// `setup.py` it names.
fn existing(tree: &dyn BranchFiles, path: &str) -> anyhow::Result<Option<String>> {
    if path.is_empty() || tree.is_dir(path)? {
        return Ok(Some(path.to_owned()));
    }
    let is_setup = path == "setup.py" || path.ends_with("/setup.py");
    if is_setup && tree.read_file(path)?.is_some() {
        let dir = path.trim_end_matches("setup.py").trim_end_matches('/');
        return Ok(Some(dir.to_owned()));
    }
    Ok(None)
}

/// Python's `glob.glob` over the branch's directories, sorted.
fn glob(tree: &dyn BranchFiles, pattern: &str) -> anyhow::Result<Vec<String>> {
    let mut dirs: Vec<String> = Vec::new();
    for file in tree.files()? {
        let mut dir = file.as_str();
        while let Some(at) = dir.rfind('/') {
            dir = &dir[..at];
            if !dirs.iter().any(|d| d == dir) {
                dirs.push(dir.to_owned());
            }
        }
    }
    let pattern: Vec<&str> = pattern.split('/').collect();
    let mut found: Vec<String> = dirs
        .into_iter()
        .filter(|dir| {
            let parts: Vec<&str> = dir.split('/').collect();
            parts.len() == pattern.len() && parts.iter().zip(&pattern).all(|(p, g)| matches(g, p))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// `fnmatch` of one path segment; names starting with `.` only match a
/// pattern that does too, as in `glob`.
fn matches(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some(('[', rest)) => match rest.iter().skip(1).position(|&c| c == ']') {
                Some(close) => {
                    let class = &rest[..close + 1];
                    let (negate, class) = match class.split_first() {
                        Some(('!', tail)) => (true, tail),
                        _ => (false, class),
                    };
                    let Some((&c, tail)) = n.split_first() else {
                        return false;
                    };
                    let mut hit = false;
                    let mut i = 0;
                    while i < class.len() {
                        if i + 2 < class.len() && class[i + 1] == '-' {
                            hit |= class[i] <= c && c <= class[i + 2];
                            i += 3;
                        } else {
                            hit |= class[i] == c;
                            i += 1;
                        }
                    }
                    hit != negate && go(&rest[close + 2..], tail)
                }
                None => n.first() == Some(&'[') && go(rest, &n[1..]),
            },
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_segments() {
        assert!(matches("*", "lava-server"));
        assert!(!matches("*", ".hidden"));
        assert!(matches("lava-[a-s]*", "lava-server"));
        assert!(!matches("lava-[!s]*", "lava-server"));
        assert!(matches("x?z", "xyz"));
        assert_eq!(inside("/a/b", "/a"), Some("b"));
        assert_eq!(inside("/a", "/a"), Some(""));
        assert_eq!(inside("/ab", "/a"), None);
    }
}
