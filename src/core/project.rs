//! What a Python source tree's metadata files say: the project name it
//! declares, read the way packaging tools declare it (`pyproject.toml`,
//! `setup.cfg`, a literal `name=` in `setup.py`, or `PKG-INFO`), and
//! whether its build takes its version from git. Pure: the caller reads the
//! files (from disk for `local/` overrides, from a git mirror or the
//! manifest branch otherwise).

/// Whether the tree's build takes its version from git history (through
/// setuptools-scm, or a backend built on it): then a tree exported without
/// `.git` must be told the version `git describe` gives for its pin.
pub fn versions_from_git(read: impl Fn(&str) -> Option<String>) -> bool {
    const MARKS: [&str; 5] = [
        "setuptools_scm",
        "setuptools-scm",
        "use_scm_version",
        "hatch-vcs",
        "hatch_vcs",
    ];
    ["pyproject.toml", "setup.py", "setup.cfg"]
        .into_iter()
        .filter_map(read)
        .any(|text| MARKS.iter().any(|mark| text.contains(mark)))
}

/// The declared project name; `read` gives a metadata file's text by name.
pub fn project_name(read: impl Fn(&str) -> Option<String>) -> Option<String> {
    read("pyproject.toml")
        .and_then(|t| from_pyproject(&t))
        .or_else(|| read("setup.cfg").and_then(|t| from_setup_cfg(&t)))
        .or_else(|| read("setup.py").and_then(|t| from_setup_py(&t)))
        .or_else(|| read("PKG-INFO").and_then(|t| from_pkg_info(&t)))
}

fn from_pyproject(text: &str) -> Option<String> {
    let doc: toml::Table = toml::from_str(text).ok()?;
    Some(doc.get("project")?.get("name")?.as_str()?.to_owned())
}

fn from_setup_cfg(text: &str) -> Option<String> {
    let mut in_metadata = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_metadata = trimmed == "[metadata]";
            continue;
        }
        if in_metadata && !line.starts_with(char::is_whitespace) {
            if let Some((key, value)) = trimmed.split_once('=') {
                if key.trim() == "name" && !value.trim().is_empty() {
                    return Some(value.trim().to_owned());
                }
            }
        }
    }
    None
}

/// `name="x"` or `name = 'x'` as a literal keyword argument.
fn from_setup_py(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text[from..].find("name") {
        let start = from + found;
        from = start + 4;
        let before_ok =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let rest = text[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        if !before_ok || rest.starts_with('=') {
            continue;
        }
        let rest = rest.trim_start();
        let quote = rest.chars().next()?;
        if quote != '"' && quote != '\'' {
            continue;
        }
        let value: String = rest[1..].chars().take_while(|&c| c != quote).collect();
        if !value.is_empty() {
            return Some(value);
        }
    }
    None
}

fn from_pkg_info(text: &str) -> Option<String> {
    text.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("Name:").map(|v| v.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(file: &str, text: &str) -> Option<String> {
        project_name(|name| (name == file).then(|| text.to_owned()))
    }

    #[test]
    fn git_versioned_trees() {
        let with = |file: &'static str, text: &'static str| {
            versions_from_git(move |f| (f == file).then(|| text.to_owned()))
        };
        assert!(with(
            "pyproject.toml",
            "[build-system]\nrequires = [\"setuptools-scm>=7\"]\n"
        ));
        assert!(with("setup.py", "setup(use_scm_version=True)\n"));
        assert!(with(
            "pyproject.toml",
            "[tool.hatch.version]\nsource = \"vcs\"\nrequires = [\"hatch-vcs\"]\n"
        ));
        assert!(!with("pyproject.toml", "[project]\nversion = \"1.0\"\n"));
        assert!(!versions_from_git(|_| None));
    }

    #[test]
    fn names_from_each_kind_of_metadata() {
        assert_eq!(
            with("pyproject.toml", "[project]\nname = \"lava-server\"\n").as_deref(),
            Some("lava-server")
        );
        assert_eq!(
            with(
                "setup.cfg",
                "[options]\nname = no\n[metadata]\nname = lava_tool\n"
            )
            .as_deref(),
            Some("lava_tool")
        );
        assert_eq!(
            with("setup.py", "from setuptools import setup\nsetup(\n    version='1',\n    name = 'lava-dispatcher',\n)\n").as_deref(),
            Some("lava-dispatcher")
        );
        assert_eq!(with("setup.py", "setup(name=NAME)\n"), None);
        assert_eq!(
            with("PKG-INFO", "Metadata-Version: 1.0\nName: linaro-django\n").as_deref(),
            Some("linaro-django")
        );
    }
}
