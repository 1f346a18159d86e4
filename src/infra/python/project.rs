//! The Python project name of a source tree, read the way packaging tools
//! declare it: `pyproject.toml`, `setup.cfg`, a literal `name=` in
//! `setup.py`, or `PKG-INFO`.

use std::path::Path;

/// The declared project name, if the directory declares one.
pub fn project_name(dir: &Path) -> Option<String> {
    from_pyproject(dir)
        .or_else(|| from_setup_cfg(dir))
        .or_else(|| from_setup_py(dir))
        .or_else(|| from_pkg_info(dir))
}

/// The variable setuptools-scm reads a project's version from instead of
/// git: `SETUPTOOLS_SCM_PRETEND_VERSION_FOR_` and the name upper-cased,
/// each run of `-`, `.` and `_` made one `_` (setuptools-scm's own rule).
pub fn scm_pretend_var(project: &str) -> String {
    let mut name = String::new();
    let mut in_run = false;
    for c in project.chars() {
        if matches!(c, '-' | '.' | '_') {
            if !in_run {
                name.push('_');
            }
            in_run = true;
        } else {
            name.push(c.to_ascii_uppercase());
            in_run = false;
        }
    }
    format!("SETUPTOOLS_SCM_PRETEND_VERSION_FOR_{name}")
}

fn from_pyproject(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("pyproject.toml")).ok()?;
    let doc: toml::Table = toml::from_str(&text).ok()?;
    Some(doc.get("project")?.get("name")?.as_str()?.to_owned())
}

fn from_setup_cfg(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("setup.cfg")).ok()?;
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
fn from_setup_py(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("setup.py")).ok()?;
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

fn from_pkg_info(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("PKG-INFO")).ok()?;
    text.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("Name:").map(|v| v.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(file: &str, text: &str) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(file), text).unwrap();
        project_name(dir.path())
    }

    #[test]
    fn scm_variable_names() {
        assert_eq!(
            scm_pretend_var("lava"),
            "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_LAVA"
        );
        assert_eq!(
            scm_pretend_var("Lab_App.x--y"),
            "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_LAB_APP_X_Y"
        );
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
