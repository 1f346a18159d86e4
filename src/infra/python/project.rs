//! The Python project name of a source tree on disk (see
//! `core::project` for how it is read).

use std::path::Path;

/// The declared project name, if the directory declares one.
pub fn project_name(dir: &Path) -> Option<String> {
    crate::core::project::project_name(|file| std::fs::read_to_string(dir.join(file)).ok())
}
