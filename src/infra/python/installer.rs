//! The ecosystem's installers, driven as external programs: uv when it is
//! available (fast), else the interpreter's own venv + pip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _, Result};

use crate::core::model::PythonSettings;
use crate::infra::cache::{Bucket, Cache};

/// What driving the installers needs from the caller: which one was asked
/// for, whether the network may be used, and the cache their own caches
/// live in.
#[derive(Debug, Clone)]
pub struct Tools {
    pub forced: Option<Installer>,
    pub offline: bool,
    pub cache: Cache,
    /// `TMPDIR` for the installers (default: the system's).
    pub temp: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installer {
    Uv,
    Pip,
}

impl Installer {
    /// The one asked for (`--python-installer`), else uv when on PATH, else pip.
    pub fn choose(forced: Option<Installer>) -> Result<Self> {
        match forced {
            Some(Installer::Uv) => {
                if find_program("uv").is_none() {
                    bail!("the python installer uv was requested but is not on PATH; install it (pip install uv) or use LAVA_PYTHON_INSTALLER=pip");
                }
                Ok(Installer::Uv)
            }
            Some(Installer::Pip) => Ok(Installer::Pip),
            None => Ok(if find_program("uv").is_some() {
                Installer::Uv
            } else {
                Installer::Pip
            }),
        }
    }

    fn cache_bucket(self) -> Bucket {
        match self {
            Installer::Uv => Bucket::Uv,
            Installer::Pip => Bucket::Pip,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Installer::Uv => "uv",
            Installer::Pip => "pip",
        }
    }
}

/// The interpreter named by `[python] interpreter`, found on PATH.
pub fn interpreter(settings: &PythonSettings) -> Result<PathBuf> {
    let name = settings.interpreter.as_deref().unwrap_or("python3");
    find_program(name).ok_or_else(|| {
        anyhow::anyhow!(
            "python interpreter {name:?} not found{}; install it or set [python] interpreter in the manifest",
            if name.contains('/') { "" } else { " on PATH" }
        )
    })
}

/// A program by path, or searched on PATH.
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let path = PathBuf::from(name);
        return path.is_file().then_some(path);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A command for `installer` with its cache under the root and no prompts.
pub fn command(tools: &Tools, installer: Installer, program: &Path) -> Command {
    let cache = tools.cache.bucket(installer.cache_bucket());
    if let Err(err) = std::fs::create_dir_all(&cache) {
        tracing::warn!("cannot create {}: {err}", cache.display());
    }
    let mut cmd = Command::new(program);
    cmd.stdin(Stdio::null());
    if let Some(temp) = &tools.temp {
        cmd.env("TMPDIR", temp);
    }
    match installer {
        Installer::Uv => {
            cmd.env("UV_CACHE_DIR", &cache)
                .env("UV_PYTHON_DOWNLOADS", "never")
                .env("UV_NO_PROGRESS", "1");
            if tools.offline {
                cmd.env("UV_OFFLINE", "1");
            }
        }
        Installer::Pip => {
            cmd.env("PIP_CACHE_DIR", &cache)
                .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
                .env("PIP_NO_INPUT", "1");
        }
    }
    cmd
}

/// `--index-url`/`--find-links` from the manifest; without them the
/// installer's own configuration applies.
pub fn index_args(settings: &PythonSettings, installer: Installer, offline: bool) -> Vec<String> {
    let mut args = Vec::new();
    if offline && installer == Installer::Pip {
        args.push("--no-index".to_owned());
    } else if let Some(index) = &settings.index_url {
        args.extend(["--index-url".to_owned(), index.clone()]);
    }
    for link in &settings.find_links {
        args.extend(["--find-links".to_owned(), link.clone()]);
    }
    args
}

/// Runs a command, returning stdout; a failure carries the tail of stderr.
/// Spawned through [`crate::infra::interrupt::spawn_child`] (its own process
/// group, known by pid while it runs) so that SIGINT/SIGTERM stop it
/// before the release it is writing into is removed.
pub fn run(mut cmd: Command, what: &str) -> Result<String> {
    tracing::debug!("running {cmd:?}");
    let program = cmd.get_program().to_owned();
    let cannot_run = || format!("cannot run {program:?} ({what})");
    let (child, _registered) =
        crate::infra::interrupt::spawn_child(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()))
            .with_context(cannot_run)?;
    let output = child.wait_with_output().with_context(cannot_run)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = tail[tail.len().saturating_sub(12)..].join("\n    ");
        bail!("{what} failed ({}):\n    {tail}", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The newest version of each package (name, specifiers it must satisfy,
/// empty for any), asked of the installer without installing anything.
pub fn resolve_latest(
    tools: &Tools,
    settings: &PythonSettings,
    wanted: &[(String, String)],
) -> Result<BTreeMap<String, String>> {
    let requirements: Vec<String> = wanted
        .iter()
        .map(|(name, range)| format!("{name}{range}"))
        .collect();
    let names: Vec<&String> = wanted.iter().map(|(name, _)| name).collect();
    let installer = Installer::choose(tools.forced)?;
    let python = interpreter(settings)?;
    let index = index_args(settings, installer, tools.offline);
    let versions = match installer {
        Installer::Uv => {
            let uv = find_program("uv").context("uv is not on PATH")?;
            let input = tempfile::NamedTempFile::new()?;
            std::fs::write(input.path(), requirements.join("\n"))?;
            let mut cmd = command(tools, installer, &uv);
            cmd.args([
                "pip",
                "compile",
                "--no-deps",
                "--no-header",
                "--no-annotate",
                "--quiet",
                "--python",
            ])
            .arg(&python)
            .args(&index)
            .arg(input.path());
            parse_pins(&run(cmd, "uv pip compile (resolving \"latest\")")?)
        }
        Installer::Pip => {
            let mut cmd = command(tools, installer, &python);
            cmd.args([
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--no-deps",
                "--quiet",
                "--report",
                "-",
            ])
            .args(&index)
            .args(&requirements);
            let report = run(cmd, "pip install --dry-run (resolving \"latest\")")?;
            PipReport::parse(&report)?
                .install
                .into_iter()
                .map(|item| {
                    (
                        crate::core::names::normalize_project(&item.metadata.name),
                        item.metadata.version,
                    )
                })
                .collect()
        }
    };
    names
        .iter()
        .map(|name| {
            let version = versions
                .get(&crate::core::names::normalize_project(name))
                .with_context(|| {
                    format!(
                        "the {} resolver gave no version for {name}",
                        installer.name()
                    )
                })?;
            Ok(((*name).clone(), version.clone()))
        })
        .collect()
}

/// The `name==version` lines of a requirements file (uv pip compile
/// output) with their `--hash=sha256:` values. Other lines (source trees
/// given by path) are left out.
pub fn parse_compiled(text: &str) -> Vec<CompiledPin> {
    let joined = text.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let spec = words.next()?;
            let hashes = words
                .filter_map(|w| w.strip_prefix("--hash=sha256:"))
                .map(str::to_owned)
                .collect();
            let (name, version) = spec.split_once("==")?;
            Some(CompiledPin {
                name: name.to_owned(),
                version: version.to_owned(),
                hashes,
            })
        })
        .collect()
}

fn parse_pins(text: &str) -> BTreeMap<String, String> {
    parse_compiled(text)
        .into_iter()
        .map(|pin| {
            (
                crate::core::names::normalize_project(&pin.name),
                pin.version,
            )
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct CompiledPin {
    pub name: String,
    pub version: String,
    pub hashes: Vec<String>,
}

/// The parts of pip's `--report` JSON that lava-deploy reads.
#[derive(Debug, serde::Deserialize)]
pub struct PipReport {
    #[serde(default)]
    pub install: Vec<PipReportItem>,
}

#[derive(Debug, serde::Deserialize)]
pub struct PipReportItem {
    pub metadata: PipMetadata,
    pub download_info: PipDownloadInfo,
}

#[derive(Debug, serde::Deserialize)]
pub struct PipMetadata {
    pub name: String,
    pub version: String,
}

#[derive(Debug, serde::Deserialize)]
pub struct PipDownloadInfo {
    #[serde(default)]
    pub archive_info: Option<PipArchiveInfo>,
    #[serde(default)]
    pub dir_info: Option<serde_json::Value>,
}

#[derive(Debug, serde::Deserialize)]
pub struct PipArchiveInfo {
    #[serde(default)]
    pub hashes: BTreeMap<String, String>,
    #[serde(default)]
    pub hash: Option<String>,
}

impl PipReport {
    pub fn parse(text: &str) -> Result<Self> {
        serde_json::from_str(text).context("cannot read pip's installation report")
    }
}

impl PipArchiveInfo {
    pub fn sha256(&self) -> Option<String> {
        self.hashes.get("sha256").cloned().or_else(|| {
            self.hash
                .as_deref()
                .and_then(|h| h.strip_prefix("sha256="))
                .map(str::to_owned)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_requirements() {
        let text = "alpha==1.0 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\nbeta==2.0\n/src/mytree\n";
        let pins = parse_compiled(text);
        assert_eq!(pins.len(), 2);
        assert_eq!(pins[0].version, "1.0");
        assert_eq!(pins[0].hashes, ["aa", "bb"]);
        assert_eq!(pins[1].name, "beta");
    }
}
