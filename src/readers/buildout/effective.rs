//! The effective configuration: what zc.buildout's `Buildout` computes when
//! it starts (defaults, the directory options, the versions section, the
//! options it checks) and what `install` reads before building (the parts,
//! their eggs), plus the sections lava-deploy maps: `[git-repos]`,
//! `[git-heads]`. It is also what the differential test compares with
//! zc.buildout itself.

use std::collections::BTreeMap;

use serde::Serialize;

use super::config::{normalize, parent, Config};
use super::omap::py_split;
use super::parse::{Section, Sections, Value};
use super::session::{Fail, Session};
use crate::core::model::Location;
use crate::core::names::normalize_project;
use crate::core::pep440::{canonical_set, set_contains};
use crate::core::pep508;

/// zc.buildout's `${buildout:directory}` is where it runs, the checkout of
/// the manifest branch; lava-deploy makes no checkout, so the branch root
/// is this absolute path. `develop` entries under it map back to the branch.
pub const DIRECTORY: &str = "/manifest-branch";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Effective {
    pub parts: Vec<String>,
    pub eggs: BTreeMap<String, Vec<Egg>>,
    pub versions: BTreeMap<String, String>,
    pub allow_picked_versions: bool,
    pub develop: Vec<String>,
    pub find_links: Vec<String>,
    pub index: Option<String>,
    pub git_repos: Option<BTreeMap<String, String>>,
    pub git_heads: Option<BTreeMap<String, String>>,
    #[serde(skip)]
    pub at: Locations,
    #[serde(skip)]
    pub notes: Notes,
}

/// What lava-deploy does not do: recipes, extensions, mr.developer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    pub ignored: Vec<String>,
}

/// Where the values came from, for the errors of the mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locations {
    pub root: Location,
    pub develop: Location,
    pub find_links: Location,
    pub index: Location,
    pub versions: BTreeMap<String, Location>,
    pub git_repos: BTreeMap<String, Location>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Egg {
    pub name: String,
    pub extras: Vec<String>,
    pub specifier: String,
    pub marker: Option<String>,
    pub url: Option<String>,
    /// The version when the egg is pinned the way zc.buildout counts it
    /// (exactly one `==` specifier after the versions section applies).
    pub pin: Option<String>,
    #[serde(skip)]
    pub at: Location,
}

const DEFAULTS: [(&str, &str); 22] = [
    ("allow-hosts", "*"),
    ("allow-picked-versions", "true"),
    ("bin-directory", "bin"),
    ("develop-eggs-directory", "develop-eggs"),
    ("eggs-directory", "eggs"),
    ("eggs-directory-version", "v5"),
    ("executable", "python3"),
    ("find-links", ""),
    ("install-from-cache", "false"),
    ("installed", ".installed.cfg"),
    ("log-format", ""),
    ("log-level", "INFO"),
    ("newest", "true"),
    ("offline", "false"),
    ("parts-directory", "parts"),
    ("prefer-final", "true"),
    ("python", "buildout"),
    ("show-picked-versions", "false"),
    ("socket-timeout", ""),
    ("update-versions-file", ""),
    ("use-dependency-links", "true"),
    ("allow-unknown-extras", "false"),
];

const DIRECTORIES: [&str; 4] = [
    "bin-directory",
    "parts-directory",
    "eggs-directory",
    "develop-eggs-directory",
];

/// `os.path.join`
fn py_join(dir: &str, name: &str) -> String {
    if name.starts_with('/') || dir.is_empty() {
        name.to_owned()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// `Buildout._buildout_path`: relative to the directory, unless it still
/// has a substitution in it.
fn buildout_path(dir: &str, name: &str) -> String {
    if name.contains("${") {
        name.to_owned()
    } else {
        py_join(dir, name)
    }
}

/// The branch directory of a branch path, as an absolute path.
pub fn absolute_dir(path: &str) -> String {
    let dir = parent(path);
    if dir.starts_with('/') {
        dir.to_owned()
    } else {
        normalize(&py_join(DIRECTORY, dir))
    }
}

pub fn compute(config: Config, root: &str) -> Result<Effective, Fail> {
    let directory = absolute_dir(root);
    let default_at = Location {
        file: root.to_owned(),
        line: None,
    };
    let mut defaults = Section::new();
    for (key, text) in DEFAULTS.iter().chain(&[("directory", directory.as_str())]) {
        let value = Value {
            text: (*text).to_owned(),
            at: default_at.clone(),
        };
        defaults.insert((*key).to_owned(), value);
    }
    let mut data = Sections::new();
    data.insert("buildout".to_owned(), defaults);
    super::config::update(&mut data, config.sections);
    let mut session = Session::new(data, config.headers, root);
    let versions_name = start(&mut session, &directory)?;
    let parts = install_parts(&mut session)?;
    view(&mut session, parts, &versions_name)
}

fn bool_option(session: &Session, option: &str, value: &str) -> Result<bool, Fail> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(session.fail(
            "buildout",
            option,
            format!("[buildout] {option} = {other:?}: zc.buildout accepts exactly true or false"),
        )),
    }
}

fn required(session: &mut Session, section: &str, option: &str) -> Result<String, Fail> {
    match session.get(section, option)? {
        Some(value) => Ok(value),
        None => Err(session.fail(
            section,
            option,
            format!("[{section}] has no option {option}"),
        )),
    }
}

/// What `Buildout.__init__` does with the configuration; the name of the
/// versions section.
fn start(session: &mut Session, directory: &str) -> Result<String, Fail> {
    let raw = session.raw_mut();
    let buildout = raw.get_mut("buildout").expect("the defaults are there");
    if !buildout.contains_key("versions") {
        let at = buildout.get("directory").expect("default").at.clone();
        buildout.insert(
            "versions".into(),
            Value {
                text: "versions".into(),
                at,
            },
        );
        if !raw.contains_key("versions") {
            raw.insert("versions".into(), Section::new());
        }
    }
    let buildout = raw.get_mut("buildout").expect("the defaults are there");
    let versions_name = buildout.get("versions").expect("set above").text.clone();
    // Cache directories written in a file are relative to that file.
    for name in ["download-cache", "eggs-directory", "extends-cache"] {
        if let Some(value) = buildout.get_mut(name) {
            if !value.text.contains("${")
                && !value.text.starts_with('/')
                && !value.text.starts_with('~')
            {
                let base = match value.at.line {
                    None => directory.to_owned(),
                    Some(_) => absolute_dir(&value.at.file),
                };
                value.text = normalize(&py_join(&base, &value.text));
            }
        }
    }
    let raw_dir = buildout.get("directory").expect("default").text.clone();
    for name in DIRECTORIES {
        let value = buildout.get_mut(name).expect("default");
        value.text = buildout_path(&raw_dir, &value.text);
    }
    let raw_bool = |session: &Session, name: &str| {
        let text = session.raw_text("buildout", name).unwrap_or_default();
        bool_option(session, name, &text)
    };
    if !versions_name.is_empty() && !session.has_section(&versions_name) {
        let message =
            format!("[buildout] versions = {versions_name}: there is no section [{versions_name}]");
        return Err(session.fail("buildout", "versions", message));
    }
    let offline = raw_bool(session, "offline")?;
    raw_bool(session, "newest")?;
    session.open("buildout")?;
    let dir = required(session, "buildout", "directory")?;
    for name in DIRECTORIES {
        let value = required(session, "buildout", name)?;
        session.set("buildout", name, buildout_path(&dir, &value));
    }
    let installed = required(session, "buildout", "installed")?;
    if !installed.is_empty() {
        session.set("buildout", "installed", py_join(&dir, &installed));
    }
    let level = required(session, "buildout", "log-level")?;
    let levels = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
    if !levels.contains(&level.as_str()) && !is_py_int(&level) {
        return Err(session.fail(
            "buildout",
            "log-level",
            format!("[buildout] log-level = {level:?} is not a logging level"),
        ));
    }
    let verbosity = session
        .get("buildout", "verbosity")?
        .unwrap_or_else(|| "0".into());
    if !is_py_int(&verbosity) {
        return Err(session.fail(
            "buildout",
            "verbosity",
            format!("[buildout] verbosity = {verbosity:?} is not a number"),
        ));
    }
    if !versions_name.is_empty() {
        session.open(&versions_name)?;
    }
    for name in [
        "prefer-final",
        "use-dependency-links",
        "allow-picked-versions",
        "show-picked-versions",
    ] {
        let value = required(session, "buildout", name)?;
        bool_option(session, name, &value)?;
    }
    let version = required(session, "buildout", "eggs-directory-version")?;
    if !version.is_empty() {
        let eggs = required(session, "buildout", "eggs-directory")?;
        session.set("buildout", "eggs-directory", py_join(&eggs, &version));
    }
    let abi = session
        .get("buildout", "abi-tag-eggs")?
        .unwrap_or_else(|| "false".into());
    bool_option(session, "abi-tag-eggs", &abi)?;
    let from_cache = required(session, "buildout", "install-from-cache")?;
    if bool_option(session, "install-from-cache", &from_cache)? && offline {
        let message =
            "[buildout] install-from-cache = true cannot be used with offline = true".to_owned();
        return Err(session.fail("buildout", "install-from-cache", message));
    }
    for (name, _) in DEFAULTS {
        required(session, "buildout", name)?;
    }
    Ok(versions_name)
}

/// Python's `int()` of a string.
fn is_py_int(text: &str) -> bool {
    let digits = text.trim().trim_start_matches(['+', '-']);
    !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_')
}

/// What `install` reads first: `parts`, each part loaded, each with a recipe.
fn install_parts(session: &mut Session) -> Result<Vec<String>, Fail> {
    let Some(parts) = session.get("buildout", "parts")? else {
        let message =
            "[buildout] has no parts option, and zc.buildout refuses to run without one: \
                       list the parts to install (`parts =` for none)"
                .to_owned();
        return Err(session.fail("buildout", "parts", message));
    };
    for part in py_split(&parts) {
        if !session.open(part)? {
            let message =
                format!("[buildout] parts names {part}, but there is no [{part}] section");
            return Err(session.fail("buildout", "parts", message));
        }
        if session.get(part, "recipe")?.is_none() {
            let message = format!(
                "part [{part}] has no recipe, and zc.buildout refuses such a part: add \
                 `recipe = zc.recipe.egg` to it, or remove {part} from [buildout] parts"
            );
            return Err(session.fail(part, "recipe", message));
        }
    }
    Ok(session.parts.clone())
}

fn view(session: &mut Session, parts: Vec<String>, versions_name: &str) -> Result<Effective, Fail> {
    let mut at = Locations {
        root: session.root_at(),
        develop: session.at("buildout", "develop"),
        find_links: session.at("buildout", "find-links"),
        index: session.at("buildout", "index"),
        ..Locations::default()
    };
    let mut versions = BTreeMap::new();
    if !versions_name.is_empty() {
        for (key, value) in session.items(versions_name)? {
            let normalized = normalize_project(&key);
            at.versions
                .insert(normalized.clone(), session.at(versions_name, &key));
            versions.insert(normalized, value);
        }
    }
    let mut eggs = BTreeMap::new();
    for part in &parts {
        let recipe = required(session, part, "recipe")?;
        let value = match session.get(part, "eggs")? {
            Some(value) => value,
            None if recipe.split(':').next().map(str::trim) == Some("zc.recipe.egg") => {
                part.clone()
            }
            None => continue,
        };
        let egg_at = session.at(part, "eggs");
        let mut list = Vec::new();
        for line in value.split('\n').map(str::trim).filter(|l| !l.is_empty()) {
            let egg = egg(line, &versions).map_err(|problem| super::session::Fail {
                at: egg_at.clone(),
                message: format!("[{part}] eggs: {line:?} {problem}"),
            })?;
            list.push(Egg {
                at: egg_at.clone(),
                ..egg
            });
        }
        eggs.insert(part.clone(), list);
    }
    let mut notes = Notes::default();
    for part in &parts {
        let recipe = required(session, part, "recipe")?;
        notes.ignored.push(format!("part {part} (recipe {recipe})"));
    }
    if let Some(extensions) = session.get("buildout", "extensions")? {
        notes
            .ignored
            .push(format!("extensions = {}", py_split(&extensions).join(" ")));
    }
    for name in ["branches", "revisions", "sources"] {
        if session.has_section(name) {
            notes.ignored.push(format!("[{name}]"));
        }
    }
    let buildout_bool = required(session, "buildout", "allow-picked-versions")?;
    let allow_picked_versions = bool_option(session, "allow-picked-versions", &buildout_bool)?;
    let develop = session.get("buildout", "develop")?.unwrap_or_default();
    let find_links = session.get("buildout", "find-links")?.unwrap_or_default();
    let index = session.get("buildout", "index")?;
    let mut git = [None, None];
    for (slot, name) in git.iter_mut().zip(["git-repos", "git-heads"]) {
        if session.open(name)? {
            let items = session.items(name)?;
            if name == "git-repos" {
                for (key, _) in &items {
                    at.git_repos.insert(key.clone(), session.at(name, key));
                }
            }
            *slot = Some(items.into_iter().collect());
        }
    }
    let [git_repos, git_heads] = git;
    Ok(Effective {
        parts,
        eggs,
        versions,
        allow_picked_versions,
        develop: py_split(&develop).into_iter().map(str::to_owned).collect(),
        find_links: py_split(&find_links)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        index,
        git_repos,
        git_heads,
        at,
        notes,
    })
}

/// One egg line, with the versions section applied as zc.buildout's
/// `_constrained_requirement` does.
fn egg(line: &str, versions: &BTreeMap<String, String>) -> Result<Egg, String> {
    let parsed = pep508::parse_line(line)
        .map_err(|why| format!("is not a requirement zc.buildout accepts: {why}"))?;
    let mut specs = parsed.specs.clone();
    let pin = versions
        .get(&normalize_project(&parsed.name))
        .filter(|c| !c.is_empty());
    if let Some(constraint) = pin {
        let invalid = || {
            format!("cannot take the versions section's pin {constraint:?}: it is not a version")
        };
        if constraint.starts_with(['<', '>']) {
            specs.extend(canonical_set(constraint).ok_or_else(invalid)?);
            specs.sort();
            specs.dedup();
        } else {
            let version = match constraint.strip_prefix('=') {
                Some(rest) => rest.strip_prefix('=').ok_or_else(invalid)?,
                None => constraint.as_str(),
            };
            if !set_contains(&parsed.specs, version) {
                return Err(format!(
                    "does not allow the version the versions section pins ({constraint}); change one of them"
                ));
            }
            specs = canonical_set(&format!("=={version}")).ok_or_else(invalid)?;
        }
    }
    let pin = match specs.as_slice() {
        [one] if one.starts_with("==") && !one.starts_with("===") => Some(one[2..].to_owned()),
        _ => None,
    };
    Ok(Egg {
        name: parsed.name,
        extras: parsed.extras,
        specifier: specs.join(","),
        marker: parsed.marker,
        url: parsed.url,
        pin,
        at: Location::default(),
    })
}
