//! A whole zc.buildout configuration: `extends` chains flattened the way
//! zc.buildout does (bases first, later wins), `+=`/`-=` applied, `<=`
//! macros expanded, and `${section:option}` substituted on demand, so that
//! references inside options lava-deploy never reads cannot fail.

use std::collections::BTreeMap;

use super::parse::{parse, Op, RawSection};
use crate::core::model::{Location, ManifestError};
use crate::readers::{join_relative, BranchFiles};

#[derive(Debug, Clone)]
pub struct Value {
    pub text: String,
    pub at: Location,
}

pub type Section = BTreeMap<String, Value>;

#[derive(Debug, Default)]
pub struct Config {
    pub sections: BTreeMap<String, Section>,
    /// Files read, bases before the files that extend them.
    pub files: Vec<String>,
}

/// Reads `file` and everything it extends.
pub fn load(
    tree: &dyn BranchFiles,
    file: &str,
    errors: &mut Vec<ManifestError>,
) -> anyhow::Result<Config> {
    let mut config = Config::default();
    load_into(tree, file, &mut Vec::new(), None, &mut config, errors)?;
    expand_macros(&mut config, errors);
    Ok(config)
}

fn load_into(
    tree: &dyn BranchFiles,
    file: &str,
    stack: &mut Vec<String>,
    extended_at: Option<&Location>,
    config: &mut Config,
    errors: &mut Vec<ManifestError>,
) -> anyhow::Result<()> {
    let at = extended_at.cloned().unwrap_or(Location {
        file: file.to_owned(),
        line: None,
    });
    let chain = || [stack.as_slice(), &[file.to_owned()]].concat().join(" -> ");
    if stack.iter().any(|f| f == file) {
        errors.push(ManifestError {
            at,
            message: format!("extends cycle: {}", chain()),
        });
        return Ok(());
    }
    let Some(bytes) = tree.read_file(file)? else {
        let message = format!(
            "extends {file:?}, which does not exist in the manifest branch (chain: {}); files in the branch: {}",
            chain(),
            tree.manifest_files()?.join(", ")
        );
        errors.push(ManifestError { at, message });
        return Ok(());
    };
    let text = String::from_utf8_lossy(&bytes);
    let sections = parse(file, &text, errors);
    let here = |line: usize| Location {
        file: file.to_owned(),
        line: Some(line),
    };
    // Bases first, in order; this file's own values then win.
    let extends = sections
        .iter()
        .filter(|s| s.name == "buildout")
        .flat_map(|s| &s.options)
        .rfind(|o| o.key == "extends" && o.op == Op::Set)
        .cloned();
    stack.push(file.to_owned());
    if let Some(extends) = extends {
        for base in extends.value.split_whitespace() {
            let at = here(extends.line);
            if base.contains("://") {
                errors.push(ManifestError {
                    at,
                    message: format!("extends {base}: only files of the manifest branch can be extended, not URLs"),
                });
                continue;
            }
            match join_relative(file, base) {
                Some(path) => load_into(tree, &path, stack, Some(&at), config, errors)?,
                None => errors.push(ManifestError {
                    at,
                    message: format!("extends {base:?}, which points outside the manifest branch"),
                }),
            }
        }
    }
    stack.pop();
    apply_file(config, file, &sections);
    config.files.push(file.to_owned());
    Ok(())
}

/// Lays one file's sections over the configuration: within a section of
/// this file, `=` first, then `+=`, then `-=`.
fn apply_file(config: &mut Config, file: &str, sections: &[RawSection]) {
    let mut names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
    names.dedup();
    for name in names {
        let options: Vec<_> = sections
            .iter()
            .filter(|s| s.name == name)
            .flat_map(|s| &s.options)
            .collect();
        let section = config.sections.entry(name.to_owned()).or_default();
        for op in [Op::Set, Op::Add, Op::Remove] {
            for option in options.iter().filter(|o| o.op == op) {
                let at = Location {
                    file: file.to_owned(),
                    line: Some(option.line),
                };
                let text = match (op, section.get(&option.key)) {
                    (Op::Set, _) | (Op::Add, None) => option.value.clone(),
                    (Op::Add, Some(old)) => [old.text.as_str(), option.value.as_str()]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join("\n"),
                    (Op::Remove, old) => {
                        let removed: Vec<&str> = option.value.lines().map(str::trim).collect();
                        old.map(|v| v.text.as_str())
                            .unwrap_or("")
                            .lines()
                            .filter(|l| !removed.contains(&l.trim()))
                            .collect::<Vec<_>>()
                            .join("\n")
                    }
                };
                section.insert(option.key.clone(), Value { text, at });
            }
        }
    }
}

/// `<= other`: the section gets `other`'s options beneath its own.
fn expand_macros(config: &mut Config, errors: &mut Vec<ManifestError>) {
    let names: Vec<String> = config.sections.keys().cloned().collect();
    for name in names {
        let mut seen = vec![name.clone()];
        let mut current = name.clone();
        let mut inherited: Vec<Section> = Vec::new();
        while let Some(macro_ref) = config.sections[&current].get("<").cloned() {
            let base = macro_ref.text.trim().to_owned();
            if seen.contains(&base) {
                errors.push(ManifestError {
                    at: macro_ref.at,
                    message: format!("macro cycle: {} -> {base}", seen.join(" -> ")),
                });
                break;
            }
            let Some(section) = config.sections.get(&base) else {
                errors.push(ManifestError {
                    at: macro_ref.at,
                    message: format!("[{current}] <= {base}: there is no section [{base}]"),
                });
                break;
            };
            inherited.push(section.clone());
            seen.push(base.clone());
            current = base;
        }
        if inherited.is_empty() {
            continue;
        }
        let own = config.sections.remove(&name).unwrap_or_default();
        let mut merged = Section::new();
        for base in inherited.into_iter().rev() {
            merged.extend(base);
        }
        merged.extend(own);
        merged.remove("<");
        config.sections.insert(name, merged);
    }
}

/// Options zc.buildout defines itself, for substitution.
fn builtin(option: &str) -> Option<&'static str> {
    Some(match option {
        "directory" => ".",
        "bin-directory" => "bin",
        "parts-directory" => "parts",
        "eggs-directory" => "eggs",
        "develop-eggs-directory" => "develop-eggs",
        "installed" => ".installed.cfg",
        _ => return None,
    })
}

impl Config {
    /// The raw (unsubstituted) value.
    pub fn raw(&self, section: &str, option: &str) -> Option<&Value> {
        self.sections.get(section)?.get(option)
    }

    /// An option with every `${section:option}` in it substituted.
    pub fn get(&self, section: &str, option: &str) -> Result<Option<String>, ManifestError> {
        match self.raw(section, option) {
            Some(value) => self
                .substitute(
                    &value.text,
                    section,
                    &value.at,
                    &mut vec![(section.to_owned(), option.to_owned())],
                )
                .map(Some),
            None if section == "buildout" => Ok(builtin(option).map(str::to_owned)),
            None => Ok(None),
        }
    }

    fn substitute(
        &self,
        text: &str,
        section: &str,
        at: &Location,
        stack: &mut Vec<(String, String)>,
    ) -> Result<String, ManifestError> {
        let (here_section, here_option) = stack.last().cloned().unwrap_or_default();
        let fail = |message: String| ManifestError {
            at: at.clone(),
            message: format!("[{here_section}] {here_option}: {message}"),
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            if let Some(after_escape) = after.strip_prefix('$') {
                out.push_str("$$");
                rest = after_escape;
                continue;
            }
            let Some(inner) = after.strip_prefix('{') else {
                out.push('$');
                rest = after;
                continue;
            };
            let Some(end) = inner.find('}') else {
                return Err(fail(format!("unterminated substitution in {text:?}")));
            };
            let reference = &inner[..end];
            rest = &inner[end + 1..];
            let Some((ref_section, ref_option)) = reference.split_once(':') else {
                return Err(fail(format!(
                    "${{{reference}}} is not of the form ${{section:option}}"
                )));
            };
            let ref_section = if ref_section.is_empty() {
                section
            } else {
                ref_section
            };
            let key = (ref_section.to_owned(), ref_option.to_owned());
            if stack.contains(&key) {
                let chain: Vec<String> = stack
                    .iter()
                    .chain([&key])
                    .map(|(s, o)| format!("{s}:{o}"))
                    .collect();
                return Err(fail(format!(
                    "circular reference in substitutions: {}",
                    chain.join(" -> ")
                )));
            }
            let value = match self.raw(ref_section, ref_option) {
                Some(value) => {
                    stack.push(key);
                    let resolved = self.substitute(&value.text, ref_section, &value.at, stack);
                    stack.pop();
                    resolved?
                }
                None => match (ref_section, builtin(ref_option)) {
                    ("buildout", Some(value)) => value.to_owned(),
                    _ if !self.sections.contains_key(ref_section) => {
                        return Err(fail(format!(
                            "${{{reference}}} refers to section [{ref_section}], which is not defined"
                        )))
                    }
                    _ => {
                        return Err(fail(format!(
                            "${{{reference}}} refers to option {ref_option}, which [{ref_section}] does not define"
                        )))
                    }
                },
            };
            out.push_str(&value);
        }
        out.push_str(rest);
        Ok(out)
    }
}
