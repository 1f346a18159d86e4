//! Sections as zc.buildout's `Options` objects use them: a section is
//! loaded the first time something asks for it (its `<=` macros expanded,
//! every `${section:option}` in it substituted, the sections it refers to
//! loaded in turn), and a loaded section with a `recipe` is a part that
//! gets installed, whether `parts` names it or a reference pulled it in.
//!
//! Recipes are not run. A recipe may set options of its own section when
//! it starts (`${instance:instance-path}`), so a reference to an option
//! that a section with a recipe does not define stays as written instead
//! of failing.

use std::collections::BTreeMap;

use super::config::update_section;
use super::omap::{py_split, py_strip, OMap};
use super::parse::{Section, Sections};
use crate::core::model::{Location, ManifestError};
use crate::core::pep508;

pub type Fail = ManifestError;

/// A section once loaded: its raw options (macros expanded), the values
/// substituted while loading, and the values handed out since.
#[derive(Default)]
struct Options {
    raw: Section,
    cooked: BTreeMap<String, String>,
    data: OMap<String>,
}

pub struct Session {
    raw: Sections,
    headers: OMap<Location>,
    root: String,
    opened: BTreeMap<String, Options>,
    /// Loaded sections with a recipe, in the order they were loaded.
    pub parts: Vec<String>,
}

type Key = (String, String);

impl Session {
    pub fn new(raw: Sections, headers: OMap<Location>, root: &str) -> Self {
        Session {
            raw,
            headers,
            root: root.to_owned(),
            opened: BTreeMap::new(),
            parts: Vec::new(),
        }
    }

    pub fn raw_mut(&mut self) -> &mut Sections {
        &mut self.raw
    }

    /// An option as written (`Buildout._raw`), before any substitution.
    pub fn raw_text(&self, section: &str, option: &str) -> Option<String> {
        Some(self.raw.get(section)?.get(option)?.text.clone())
    }

    pub fn has_section(&self, name: &str) -> bool {
        self.raw.contains_key(name)
    }

    /// Where an option was written, else its section, else the file.
    pub fn at(&self, section: &str, option: &str) -> Location {
        let raw = self
            .opened
            .get(section)
            .map(|o| &o.raw)
            .or(self.raw.get(section));
        raw.and_then(|r| r.get(option))
            .map(|v| v.at.clone())
            .filter(|at| at.line.is_some())
            .or_else(|| self.headers.get(section).cloned())
            .unwrap_or_else(|| self.root_at())
    }

    pub fn root_at(&self) -> Location {
        Location {
            file: self.root.clone(),
            line: None,
        }
    }

    pub fn fail(&self, section: &str, option: &str, message: String) -> Fail {
        ManifestError {
            at: self.at(section, option),
            message,
        }
    }

    /// Loads a section (`Buildout.__getitem__`); `false` when there is none.
    pub fn open(&mut self, name: &str) -> Result<bool, Fail> {
        if self.opened.contains_key(name) {
            return Ok(true);
        }
        let Some(raw) = self.raw.get(name).cloned() else {
            return Ok(false);
        };
        // Registered first, so that references back to it while it loads
        // find it, as zc.buildout's do.
        self.opened.insert(
            name.to_owned(),
            Options {
                raw: raw.clone(),
                ..Options::default()
            },
        );
        let raw = if raw.contains_key("<") {
            let expanded = self.extend_raw(name, &raw, &mut Vec::new())?;
            self.opened.get_mut(name).expect("registered").raw = expanded.clone();
            expanded
        } else {
            raw
        };
        let mut items: Vec<(String, String)> = raw
            .iter()
            .map(|(k, v)| (k.clone(), v.text.clone()))
            .collect();
        items.sort();
        for (option, text) in items {
            if text.contains("${") {
                let value =
                    self.substitute(name, &text, &mut vec![(name.to_owned(), option.clone())])?;
                self.options(name).cooked.insert(option, value);
            }
        }
        if name == "buildout" {
            return Ok(true);
        }
        let dependencies = self.get(name, "<part-dependencies>")?.unwrap_or_default();
        for dependency in py_split(&dependencies) {
            if !self.open(dependency)? {
                let message =
                    format!("[{name}] depends on [{dependency}] (`=>`), which is not defined");
                return Err(self.fail(name, "<part-dependencies>", message));
            }
        }
        if let Some(recipe) = self.get(name, "recipe")?.filter(|r| !r.is_empty()) {
            self.check_recipe(name, &recipe)?;
            self.parts.push(name.to_owned());
        }
        Ok(true)
    }

    fn options(&mut self, name: &str) -> &mut Options {
        self.opened.get_mut(name).expect("the section is loaded")
    }

    /// The recipe spec as zc.buildout's loader parses it: `egg[:entry]`.
    fn check_recipe(&self, name: &str, recipe: &str) -> Result<(), Fail> {
        let problem = match recipe.split(':').collect::<Vec<_>>().as_slice() {
            [egg] | [egg, _] => pep508::parse_line(egg).err(),
            _ => Some("it has more than one ':'".to_owned()),
        };
        match problem {
            None => Ok(()),
            Some(problem) => Err(self.fail(
                name,
                "recipe",
                format!("[{name}] recipe = {recipe}: not a recipe zc.buildout can load ({problem}); write `egg` or `egg:entry`"),
            )),
        }
    }

    /// `Options._do_extend_raw`: `<= a b` lays this section's options over
    /// those of `a` then `b` (each expanded first); not in `[buildout]`.
    fn extend_raw(
        &self,
        name: &str,
        data: &Section,
        doing: &mut Vec<String>,
    ) -> Result<Section, Fail> {
        if name == "buildout" {
            return Ok(data.clone());
        }
        if doing.iter().any(|d| d == name) {
            let chain = [doing.as_slice(), &[name.to_owned()]].concat().join(" <= ");
            return Err(self.fail(name, "<", format!("macro loop: {chain}")));
        }
        let Some(macros) = data.get("<") else {
            return Ok(data.clone());
        };
        doing.push(name.to_owned());
        let mut result = Section::new();
        for base in macros
            .text
            .split('\n')
            .map(py_strip)
            .filter(|b| !b.is_empty())
        {
            let Some(raw) = self.raw.get(base) else {
                let message = format!("[{name}] <= {base}: there is no section [{base}]");
                return Err(ManifestError {
                    at: macros.at.clone(),
                    message,
                });
            };
            for (key, value) in self.extend_raw(base, raw, doing)? {
                result.insert(key, value);
            }
        }
        doing.pop();
        let mut result = update_section(&result, data);
        result.remove("<");
        Ok(result)
    }

    /// An option of a loaded section, substituted (`Options.get`).
    pub fn get(&mut self, section: &str, option: &str) -> Result<Option<String>, Fail> {
        self.get_seen(section, option, &mut Vec::new())
    }

    fn get_seen(
        &mut self,
        section: &str,
        option: &str,
        seen: &mut Vec<Key>,
    ) -> Result<Option<String>, Fail> {
        let options = self.options(section);
        if let Some(value) = options.data.get(option) {
            return Ok(Some(value.clone()));
        }
        let value = options
            .cooked
            .get(option)
            .cloned()
            .or_else(|| options.raw.get(option).map(|v| v.text.clone()));
        let Some(mut value) = value else {
            return Ok(None);
        };
        if value.contains("${") {
            let key = (section.to_owned(), option.to_owned());
            if seen.contains(&key) {
                let chain: Vec<String> = seen
                    .iter()
                    .chain([&key])
                    .map(|(s, o)| format!("{s}:{o}"))
                    .collect();
                let message = format!(
                    "[{section}] {option}: circular reference in substitutions: {}",
                    chain.join(" -> ")
                );
                return Err(self.fail(&seen[0].0, &seen[0].1, message));
            }
            seen.push(key);
            value = self.substitute(section, &value, seen)?;
            seen.pop();
        }
        self.options(section)
            .data
            .insert(option.to_owned(), value.clone());
        Ok(Some(value))
    }

    /// Sets a computed value, as zc.buildout does for its directories.
    pub fn set(&mut self, section: &str, option: &str, value: String) {
        self.options(section).data.insert(option.to_owned(), value);
    }

    /// The options of a loaded section with their values, in order
    /// (`Options.items()`).
    pub fn items(&mut self, section: &str) -> Result<Vec<(String, String)>, Fail> {
        let options = self.options(section);
        let mut keys: Vec<String> = options.raw.keys().cloned().collect();
        keys.extend(
            options
                .data
                .keys()
                .filter(|k| !options.raw.contains_key(k))
                .cloned(),
        );
        let mut items = Vec::new();
        for key in keys {
            let value = self.get(section, &key)?.unwrap_or_default();
            items.push((key, value));
        }
        Ok(items)
    }

    /// `$$` is kept as is; every `${section:option}` between is replaced.
    fn substitute(
        &mut self,
        section: &str,
        text: &str,
        seen: &mut Vec<Key>,
    ) -> Result<String, Fail> {
        let mut pieces = Vec::new();
        for piece in text.split("$$") {
            pieces.push(self.substitute_piece(section, piece, seen)?);
        }
        Ok(pieces.join("$$"))
    }

    fn substitute_piece(
        &mut self,
        section: &str,
        text: &str,
        seen: &mut Vec<Key>,
    ) -> Result<String, Fail> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            // An unterminated `${` is text, as in zc.buildout.
            let Some(length) = rest[start..].find('}') else {
                break;
            };
            out.push_str(&rest[..start]);
            let reference = &rest[start..start + length + 1];
            rest = &rest[start + length + 1..];
            out.push_str(&self.resolve(section, reference, seen)?);
        }
        out.push_str(rest);
        Ok(out)
    }

    fn resolve(
        &mut self,
        section: &str,
        reference: &str,
        seen: &mut Vec<Key>,
    ) -> Result<String, Fail> {
        let (here_section, here_option) = seen.first().cloned().unwrap_or_default();
        let fail = |session: &Session, problem: String| {
            session.fail(
                &here_section,
                &here_option,
                format!("[{here_section}] {here_option}: {reference} {problem}"),
            )
        };
        let inner = &reference[2..reference.len() - 1];
        let parts: Vec<&str> = inner.split(':').collect();
        let simple = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " -._".contains(c))
        };
        let valid =
            parts.len() == 2 && (parts[0].is_empty() || simple(parts[0])) && simple(parts[1]);
        if !valid {
            let problem = match parts.len() {
                1 => "has no ':'; write ${section:option}".to_owned(),
                2 if !simple(parts[0]) => "has invalid characters in its section name".to_owned(),
                2 => "has invalid characters in its option name".to_owned(),
                _ => "has more than one ':'; write ${section:option}".to_owned(),
            };
            return Err(fail(self, problem));
        }
        let option = parts[1];
        let target = if parts[0].is_empty() {
            section
        } else {
            parts[0]
        };
        if !self.open(target)? {
            return Err(fail(
                self,
                format!("refers to section [{target}], which is not defined"),
            ));
        }
        if let Some(value) = self.get_seen(target, option, seen)? {
            return Ok(value);
        }
        if option == "_buildout_section_name_" {
            return Ok(section.to_owned());
        }
        let has_recipe = self.opened[target]
            .raw
            .get("recipe")
            .is_some_and(|r| !r.text.is_empty());
        if has_recipe {
            return Ok(format!("${{{target}:{option}}}"));
        }
        Err(fail(
            self,
            format!("refers to option {option}, which [{target}] does not define"),
        ))
    }
}
