//! The uv path: uv has no installation report, so the package set is
//! resolved with `uv pip compile --generate-hashes` (every package, its
//! version and its artifacts' hashes) and then installed exactly.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::installer::{self, find_program, Installer, Tools};
use super::{build_vars, dist, source_lines, EnvPlan, Resolved};

/// uv has no installation report: resolve with `uv pip compile
/// --generate-hashes` (every package, its version and the hashes of its
/// artifacts), then install exactly that, uv verifying the hashes.
pub(super) fn uv_compile(
    tools: &Tools,
    plan: &EnvPlan,
    python: &Path,
    index: &[String],
    requirements: &Path,
    scratch: &Path,
) -> Result<(PathBuf, Vec<installer::CompiledPin>)> {
    let uv = find_program("uv").context("uv is not on PATH")?;
    let compiled = scratch.join("compiled.txt");
    let cache = ResolutionCache::new(tools, plan, python, requirements);
    match cache.as_ref().and_then(ResolutionCache::get) {
        Some(text) => fs::write(&compiled, text)?,
        None => {
            let mut cmd = installer::command(tools, Installer::Uv, &uv);
            cmd.args([
                "pip",
                "compile",
                "--quiet",
                "--generate-hashes",
                "--no-header",
                "--no-annotate",
                "--python",
            ])
            .arg(python)
            .args(index)
            .arg("--output-file")
            .arg(&compiled)
            .arg(requirements)
            .envs(build_vars(plan));
            installer::run(cmd, "uv pip compile")?;
            if let Some(cache) = &cache {
                cache.put(plan, &fs::read_to_string(&compiled)?);
            }
        }
    }
    // The compile step lists the index's hashes; where the manifest gives
    // its own, those are the ones the install must check against.
    let mut pins = installer::parse_compiled(&fs::read_to_string(&compiled)?);
    let manifest_hashes: BTreeMap<String, &Vec<String>> = plan
        .packages
        .iter()
        .filter(|package| !package.hashes.is_empty())
        .map(|package| (dist::normalize(&package.name), &package.hashes))
        .collect();
    for pin in &mut pins {
        if let Some(hashes) = manifest_hashes.get(&dist::normalize(&pin.name)) {
            pin.hashes = hashes
                .iter()
                .filter_map(|h| h.strip_prefix("sha256:"))
                .map(str::to_owned)
                .collect();
        }
    }
    let mut text = String::new();
    for pin in &pins {
        text.push_str(&format!("{}=={}", pin.name, pin.version));
        for hash in &pin.hashes {
            text.push_str(&format!(" --hash=sha256:{hash}"));
        }
        text.push('\n');
    }
    text.push_str(&source_lines(plan));
    fs::write(&compiled, text)?;
    Ok((compiled, pins))
}

/// Resolutions of fully pinned package sets, so that a second release or
/// instance with the same pins skips the resolver: the result cannot change
/// when every package in it is pinned (only the index's artifacts could,
/// and the recorded hashes then make the install fail rather than drift).
/// Keyed by the requirements, constraints, index settings and the
/// interpreter file. Source trees and editables are never cached.
struct ResolutionCache {
    path: PathBuf,
}

impl ResolutionCache {
    fn new(tools: &Tools, plan: &EnvPlan, python: &Path, requirements: &Path) -> Option<Self> {
        use sha2::{Digest, Sha256};
        use std::os::unix::fs::MetadataExt;
        if !plan.trees.is_empty() || !plan.editables.is_empty() {
            return None;
        }
        let interpreter = fs::canonicalize(python).ok()?;
        let meta = fs::metadata(&interpreter).ok()?;
        let mut key = Sha256::new();
        key.update(fs::read(requirements).ok()?);
        key.update(format!(
            "\0{:?}\0{:?}\0{:?}\0{}\0{}\0{}",
            plan.settings.constraints,
            plan.settings.index_url,
            plan.settings.find_links,
            interpreter.display(),
            meta.mtime(),
            meta.size()
        ));
        let dir = tools.cache.bucket(crate::infra::cache::Bucket::Resolutions);
        Some(ResolutionCache {
            path: dir.join(format!("{}.txt", hex::encode(key.finalize()))),
        })
    }

    fn get(&self) -> Option<String> {
        let text = fs::read_to_string(&self.path).ok()?;
        tracing::debug!("resolution reused from {}", self.path.display());
        Some(text)
    }

    /// Stores `compiled` if every package in it is pinned by the plan.
    fn put(&self, plan: &EnvPlan, compiled: &str) {
        let pinned = plan.pinned();
        let pins = installer::parse_compiled(compiled);
        if pins.is_empty()
            || !pins
                .iter()
                .all(|pin| pinned.contains_key(&dist::normalize(&pin.name)))
        {
            return;
        }
        let Some(dir) = self.path.parent() else {
            return;
        };
        if fs::create_dir_all(dir).is_ok() {
            if let Err(err) = crate::infra::fs::write_atomic(&self.path, compiled.as_bytes()) {
                tracing::debug!("cannot cache the resolution: {err:#}");
            }
        }
    }
}

/// Installs exactly what `uv_compile` resolved, uv checking the hashes.
pub(super) fn uv_install(
    tools: &Tools,
    plan: &EnvPlan,
    env_python: &Path,
    index: &[String],
    compiled: &Path,
    pins: Vec<installer::CompiledPin>,
) -> Result<BTreeMap<String, Resolved>> {
    let uv = find_program("uv").context("uv is not on PATH")?;
    let mut cmd = installer::command(tools, Installer::Uv, &uv);
    cmd.args(["pip", "install", "--quiet", "--no-deps", "--python"])
        .arg(env_python)
        .args(index)
        .arg("-r")
        .arg(compiled)
        .envs(build_vars(plan));
    installer::run(cmd, "uv pip install")?;
    Ok(pins
        .into_iter()
        .map(|pin| {
            let resolved = Resolved {
                sha256: (pin.hashes.len() == 1).then(|| pin.hashes[0].clone()),
                hashes: if pin.hashes.len() > 1 {
                    pin.hashes
                } else {
                    Vec::new()
                },
            };
            (dist::normalize(&pin.name), resolved)
        })
        .collect())
}
