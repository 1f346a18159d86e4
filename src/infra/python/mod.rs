//! The release's Python environment: a virtualenv built with the
//! ecosystem's installers, checked against the manifest's pins, with the
//! console scripts linked into the release's `bin/`.

pub mod dist;
pub mod installer;
pub mod project;
mod uv;

use fs_err as fs;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::core::error::Error;
use crate::core::lock::{LockedEnvironment, LockedPackage};
use crate::core::model::PythonSettings;
use crate::invalid;
use installer::{find_program, index_args, interpreter, Installer, PipReport, Tools};

/// What goes into an environment.
pub struct EnvPlan<'a> {
    pub settings: &'a PythonSettings,
    pub allow_unpinned: bool,
    /// Python components.
    pub packages: Vec<Package>,
    /// `install = "python"` components' source trees.
    pub trees: Vec<SourceTree>,
    /// Overrides in local/, installed editable. Their `version` is not
    /// used: a checkout has its own history to take a version from.
    pub editables: Vec<SourceTree>,
}

/// A directory installed from source.
#[derive(Debug, Clone)]
pub struct SourceTree {
    pub component: String,
    pub path: PathBuf,
    /// Installed as `project[extra,…]`.
    pub extras: Vec<String>,
    /// Given to a build that takes its version from git (setuptools-scm),
    /// which the exported tree has no `.git` for.
    pub version: Option<String>,
}

/// A python component: a package of the index at an exact version.
pub struct Package {
    pub name: String,
    pub version: String,
    /// `sha256:…` hashes the download must have (none: the index's).
    pub hashes: Vec<String>,
    pub extras: Vec<String>,
    /// A PEP 508 marker: installed only where it holds.
    pub marker: Option<String>,
}

impl EnvPlan<'_> {
    /// Every version the manifest pins (components and constraints), by
    /// normalized package name.
    pub fn pinned(&self) -> BTreeMap<String, &String> {
        self.settings
            .constraints
            .iter()
            .chain(
                self.packages
                    .iter()
                    .map(|package| (&package.name, &package.version)),
            )
            .map(|(name, version)| (dist::normalize(name), version))
            .collect()
    }
}

/// A package the installer took from an index, as it reported it. Source
/// trees are not among them: whatever else got installed came from a tree.
pub(crate) struct Resolved {
    sha256: Option<String>,
    hashes: Vec<String>,
}

/// Builds `release/env` and `release/bin`. The release is built in place,
/// so the paths a virtualenv holds (script shebangs, `pyvenv.cfg`) are its
/// final ones already.
pub fn build_env(
    tools: &Tools,
    plan: &EnvPlan,
    release: &Path,
) -> Result<LockedEnvironment, Error> {
    let installer = Installer::choose(tools.forced)?;
    let python = interpreter(plan.settings)?;
    let env = release.join("env");
    tracing::info!(
        "building the python environment with {} ({} packages, {} source trees, {} editable overrides)",
        installer.name(),
        plan.packages.len(),
        plan.trees.len(),
        plan.editables.len()
    );
    // Scratch files (requirements, the installers' reports) live in the
    // release being built, not in /tmp: a run killed meanwhile leaves them
    // inside an incomplete release, which the next run removes.
    let scratch = tempfile::Builder::new()
        .prefix(".lava-env-")
        .tempdir_in(release)?;
    // The installers' own temporary files (build environments, and the lock
    // files uv leaves behind) go there too.
    let temp = scratch.path().join("tmp");
    fs::create_dir_all(&temp)?;
    let tools = &Tools {
        temp: Some(temp),
        ..tools.clone()
    };
    let requirements = scratch.path().join("requirements.txt");
    fs::write(&requirements, requirements_text(plan))?;
    let mut index = index_args(plan.settings, installer, tools.offline);
    if !plan.settings.constraints.is_empty() {
        let constraints = scratch.path().join("constraints.txt");
        let text: String = plan
            .settings
            .constraints
            .iter()
            .map(|(name, version)| format!("{name}=={version}\n"))
            .collect();
        fs::write(&constraints, text)?;
        index.extend(["--constraint".to_owned(), constraints.display().to_string()]);
    }

    // uv resolves (against the base interpreter) while the venv is made.
    let compiled = std::thread::scope(|scope| {
        let compile = (installer == Installer::Uv).then(|| {
            scope.spawn(|| {
                uv::uv_compile(tools, plan, &python, &index, &requirements, scratch.path())
            })
        });
        let venv = create_venv(tools, installer, &python, &env);
        let compiled = compile.map(|handle| handle.join().expect("uv compile does not panic"));
        venv.map(|()| compiled)
    })?
    .transpose()?;
    crate::infra::failpoint::hit("env");
    let env_python = env.join("bin/python");
    let baseline_bins: BTreeSet<String> = crate::infra::fs::dir_names(&env.join("bin"))?
        .into_iter()
        .collect();
    let baseline_dists = dist::installed(&env)?;
    let resolved = match compiled {
        None => install_with_pip(
            tools,
            plan,
            &env_python,
            &index,
            &requirements,
            scratch.path(),
        )?,
        Some((compiled, pins)) => {
            uv::uv_install(tools, plan, &env_python, &index, &compiled, pins)?
        }
    };

    let installed = dist::installed(&env)?;
    let pinned = plan.pinned();
    let mut packages = BTreeMap::new();
    let mut picked = Vec::new();
    for (key, dist) in &installed {
        let from_tree = !resolved.contains_key(key) && !baseline_dists.contains_key(key);
        let is_picked =
            !pinned.contains_key(key) && !from_tree && !baseline_dists.contains_key(key);
        if let Some(wanted) = pinned.get(key) {
            if *wanted != &dist.version {
                return Err(anyhow::anyhow!(
                    "the environment has {}=={} but the manifest pins {wanted}",
                    dist.name,
                    dist.version
                )
                .into());
            }
        }
        if is_picked {
            picked.push(format!("{}=={}", dist.name, dist.version));
        }
        if baseline_dists.contains_key(key) && !pinned.contains_key(key) {
            continue;
        }
        let report = resolved.get(key);
        packages.insert(
            key.clone(),
            LockedPackage {
                name: dist.name.clone(),
                version: dist.version.clone(),
                sha256: report.and_then(|r| r.sha256.clone()),
                hashes: report.map(|r| r.hashes.clone()).unwrap_or_default(),
                source_tree: from_tree,
                picked: is_picked,
            },
        );
    }
    if !picked.is_empty() {
        if !plan.allow_unpinned {
            return Err(invalid!(
                "picked versions: the python installer chose versions the manifest does not pin: {}; \
                 pin each of them as a python component (python = \"VERSION\") or set allow-unpinned = true",
                picked.join(", ")
            ));
        }
        tracing::warn!(
            "picked versions (not pinned by the manifest): {}",
            picked.join(", ")
        );
    }
    link_console_scripts(&env, &release.join("bin"), &baseline_bins)?;
    Ok(LockedEnvironment {
        installer: installer.name().to_owned(),
        packages,
    })
}

fn create_venv(tools: &Tools, installer: Installer, python: &Path, env: &Path) -> Result<()> {
    match installer {
        Installer::Uv => {
            let uv = find_program("uv").context("uv is not on PATH")?;
            let mut cmd = installer::command(tools, installer, &uv);
            cmd.args(["venv", "--quiet", "--no-project", "--python"])
                .arg(python)
                .arg(env);
            installer::run(cmd, "uv venv")?;
        }
        Installer::Pip => {
            let mut cmd = installer::command(tools, installer, python);
            cmd.args(["-m", "venv"]).arg(env);
            installer::run(cmd, &format!("{} -m venv", python.display()))?;
        }
    }
    Ok(())
}

fn requirements_text(plan: &EnvPlan) -> String {
    let mut text = String::new();
    for package in &plan.packages {
        let extras = extras_suffix(&package.extras);
        text.push_str(&format!("{}{extras}=={}", package.name, package.version));
        if let Some(marker) = &package.marker {
            text.push_str(&format!(" ; {marker}"));
        }
        for hash in &package.hashes {
            text.push_str(&format!(" --hash={hash}"));
        }
        text.push('\n');
    }
    text.push_str(&source_lines(plan));
    text
}

/// Requirement lines for source trees and editable overrides.
pub(crate) fn source_lines(plan: &EnvPlan) -> String {
    let trees = plan
        .trees
        .iter()
        .map(|tree| format!("{}\n", tree_requirement(tree)));
    let editables = plan.editables.iter().map(|tree| {
        let extras = extras_suffix(&tree.extras);
        format!("-e {}{extras}\n", tree.path.display())
    });
    trees.chain(editables).collect()
}

/// One tree as a requirement line. With extras it is PEP 508's
/// `project[extra] @ file:///path`, which pip and uv both read, with the
/// name the tree declares (pip refuses a name its metadata does not have);
/// when the tree's name cannot be read without running it (a computed
/// `setup.py` name), `/path[extra]`, which both read too. Without extras,
/// the bare path, as always.
fn tree_requirement(tree: &SourceTree) -> String {
    if tree.extras.is_empty() {
        return tree.path.display().to_string();
    }
    let extras = extras_suffix(&tree.extras);
    match project::project_name(&tree.path) {
        Some(name) => format!("{name}{extras} @ {}", file_url(&tree.path)),
        None => format!("{}{extras}", tree.path.display()),
    }
}

fn extras_suffix(extras: &[String]) -> String {
    if extras.is_empty() {
        String::new()
    } else {
        format!("[{}]", extras.join(","))
    }
}

/// `file://` URL of an absolute path, percent-encoded so that spaces and
/// other specials in the root cannot split the requirement line.
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// `SETUPTOOLS_SCM_PRETEND_VERSION_FOR_<NAME>` for every tree with a
/// version, for every installer command that may build a tree. Scoped by
/// project name, so packages from the index that also use setuptools-scm
/// are not affected, and setting all of them at once is harmless. Set for
/// the name the tree declares and, when that cannot be read or differs,
/// for the component's name too.
pub(crate) fn build_vars(plan: &EnvPlan) -> Vec<(String, String)> {
    let mut vars = BTreeMap::new();
    for tree in &plan.trees {
        let Some(version) = &tree.version else {
            continue;
        };
        let declared = project::project_name(&tree.path);
        for name in declared.iter().chain([&tree.component]) {
            vars.insert(project::scm_pretend_var(name), version.clone());
        }
    }
    if !vars.is_empty() {
        tracing::debug!("build environment: {vars:?}");
    }
    vars.into_iter().collect()
}

fn install_with_pip(
    tools: &Tools,
    plan: &EnvPlan,
    env_python: &Path,
    index: &[String],
    requirements: &Path,
    scratch: &Path,
) -> Result<BTreeMap<String, Resolved>> {
    let report_path = scratch.join("report.json");
    let mut cmd = installer::command(tools, Installer::Pip, env_python);
    cmd.args(["-m", "pip", "install", "--quiet", "--report"])
        .arg(&report_path)
        .args(index)
        .arg("-r")
        .arg(requirements)
        .envs(build_vars(plan));
    installer::run(cmd, "pip install")?;
    let report = PipReport::parse(&fs::read_to_string(&report_path)?)?;
    Ok(report
        .install
        .into_iter()
        .filter(|item| item.download_info.dir_info.is_none())
        .map(|item| {
            let sha256 = item
                .download_info
                .archive_info
                .as_ref()
                .and_then(|a| a.sha256());
            let resolved = Resolved {
                hashes: Vec::new(),
                sha256,
            };
            (dist::normalize(&item.metadata.name), resolved)
        })
        .collect())
}

/// `bin/python` and every console script the install added, as relative
/// symlinks into `env/bin`.
fn link_console_scripts(env: &Path, bin: &Path, baseline: &BTreeSet<String>) -> Result<()> {
    fs::create_dir_all(bin)?;
    let names: Vec<String> = crate::infra::fs::dir_names(&env.join("bin"))?
        .into_iter()
        .filter(|n| !baseline.contains(n))
        .collect();
    write_python_wrapper(&bin.join("python"))?;
    for name in names {
        let link = bin.join(&name);
        fs_err::os::unix::fs::symlink(Path::new("../env/bin").join(&name), &link)?;
    }
    Ok(())
}

/// `bin/python` runs the env's interpreter. Not a symlink: python finds its
/// virtualenv (pyvenv.cfg) next to the path it was started by, and
/// `instances/<name>/bin/python` would be outside the env.
fn write_python_wrapper(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let script = "#!/bin/sh\n# The python of this release's environment.\n\
                  here=$(dirname \"$(readlink -f \"$0\")\")\n\
                  exec \"$here/../env/bin/python\" \"$@\"\n";
    fs::write(path, script)?;
    fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}
