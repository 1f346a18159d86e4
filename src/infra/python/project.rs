//! The Python project name of a source tree on disk (see
//! `core::project` for how it is read), and how setuptools-scm is told a
//! tree's version.

use std::path::Path;

/// The declared project name, if the directory declares one.
pub fn project_name(dir: &Path) -> Option<String> {
    crate::core::project::project_name(|file| std::fs::read_to_string(dir.join(file)).ok())
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
