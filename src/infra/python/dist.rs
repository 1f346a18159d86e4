//! What is installed in an environment, read from its `*.dist-info`
//! directories (the installer-neutral record of installed distributions).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

pub use crate::core::names::normalize_project as normalize;

/// An installed distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    pub version: String,
}

/// `env/lib/pythonX.Y/site-packages` (the first one found).
pub fn site_packages(env: &Path) -> Result<PathBuf> {
    let lib = env.join("lib");
    let entries = fs_err::read_dir(&lib)?;
    for entry in entries.flatten() {
        let candidate = entry.path().join("site-packages");
        if candidate.is_dir() {
            return Ok(candidate);
        }
    }
    anyhow::bail!("{} has no site-packages directory", lib.display())
}

/// Every distribution installed in `env`, by normalized name.
pub fn installed(env: &Path) -> Result<BTreeMap<String, Installed>> {
    let site = site_packages(env)?;
    let mut found = BTreeMap::new();
    for entry in fs_err::read_dir(&site)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("dist-info") {
            continue;
        }
        let Ok(metadata) = std::fs::read_to_string(path.join("METADATA")) else {
            continue;
        };
        let field = |key: &str| {
            metadata
                .lines()
                .take_while(|l| !l.is_empty())
                .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
        };
        if let (Some(name), Some(version)) = (field("Name:"), field("Version:")) {
            found.insert(normalize(&name), Installed { name, version });
        }
    }
    Ok(found)
}
