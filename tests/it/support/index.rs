//! A PEP 503 "simple" package index on 127.0.0.1 holding small wheels that
//! the tests build, plus a real setuptools for building source trees.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{sha256_hex, HttpServer};

/// A wheel to build: name, version, dependencies, console scripts.
pub struct WheelSpec<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub deps: &'a [&'a str],
    pub scripts: &'a [&'a str],
}

/// Builds a wheel into `dir`; returns its path.
pub fn build_wheel(dir: &Path, spec: &WheelSpec) -> PathBuf {
    let mut cmd = Command::new(super::test_python());
    cmd.arg(helper())
        .args(["wheel"])
        .arg(dir)
        .args([spec.name, spec.version]);
    for dep in spec.deps {
        cmd.args(["--dep", dep]);
    }
    for script in spec.scripts {
        cmd.args(["--script", script]);
    }
    run_helper(cmd)
}

fn helper() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/wheels.py")
}

fn run_helper(cmd: Command) -> PathBuf {
    let mut wheels = run_helper_many(cmd);
    assert_eq!(wheels.len(), 1, "one wheel expected: {wheels:?}");
    wheels.remove(0)
}

/// The helper's wheels, one path a line.
fn run_helper_many(mut cmd: Command) -> Vec<PathBuf> {
    let output = cmd.output().expect("the test python runs");
    assert!(
        output.status.success(),
        "wheel helper failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// setuptools-scm and what it needs on this python (but setuptools, which
/// the standard wheels have), repackaged once per test binary, so trees
/// versioned by git build with no network. tools/test installs it.
fn setuptools_scm_wheels() -> &'static Vec<PathBuf> {
    static WHEELS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    WHEELS.get_or_init(|| {
        let dir = run_dir("wheels-scm");
        let mut cmd = Command::new(super::test_python());
        cmd.arg(helper())
            .arg("installed-with-deps")
            .arg(&dir)
            .args(["setuptools-scm", "--skip", "setuptools"]);
        run_helper_many(cmd)
    })
}

/// A directory for what is built once per test run. Not a `TempDir` in
/// /tmp: statics are never dropped, so every run would leave one behind.
/// It is under cargo's `CARGO_TARGET_TMPDIR`, named after this process;
/// those of runs that have ended are removed first.
fn run_dir(kind: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let prefix = format!("{kind}-");
    for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ended = name
            .strip_prefix(&prefix)
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| !Path::new("/proc").join(pid.to_string()).exists());
        if ended {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = base.join(format!("{prefix}{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The standard wheels, built once per test binary.
fn standard_wheels() -> &'static Vec<PathBuf> {
    static WHEELS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    WHEELS.get_or_init(|| {
        let dir = run_dir("wheels");
        let specs = [
            WheelSpec {
                name: "colorlib",
                version: "1.0",
                deps: &[],
                scripts: &[],
            },
            WheelSpec {
                name: "greet",
                version: "1.0",
                deps: &["colorlib>=1.0"],
                scripts: &["greet", "greet-admin"],
            },
            WheelSpec {
                name: "lonely",
                version: "1.0",
                deps: &[],
                scripts: &["lonely"],
            },
        ];
        let mut wheels: Vec<PathBuf> = specs.iter().map(|s| build_wheel(&dir, s)).collect();
        // setuptools, repackaged from this machine's python, so source
        // trees build with no network (.ci/run makes sure it is >= 71,
        // which needs no `wheel` package).
        let mut cmd = Command::new(super::test_python());
        cmd.arg(helper())
            .arg("installed")
            .arg(&dir)
            .arg("setuptools");
        wheels.push(run_helper(cmd));
        wheels
    })
}

/// A running index.
pub struct PackageIndex {
    pub server: HttpServer,
    projects: std::sync::Mutex<BTreeMap<String, Vec<(String, String)>>>,
}

impl PackageIndex {
    /// The standard wheels on a fresh server.
    pub fn start() -> Self {
        let index = PackageIndex {
            server: HttpServer::start(),
            projects: Default::default(),
        };
        for wheel in standard_wheels() {
            index.add_wheel(wheel);
        }
        index
    }

    /// The standard wheels plus setuptools-scm and its dependencies.
    pub fn start_with_setuptools_scm() -> Self {
        let index = Self::start();
        for wheel in setuptools_scm_wheels() {
            index.add_wheel(wheel);
        }
        index
    }

    /// `…/simple`, for `[python] index-url`.
    pub fn url(&self) -> String {
        format!("{}/simple", self.server.base)
    }

    /// Builds and publishes another wheel.
    pub fn publish(&self, spec: &WheelSpec) {
        let dir = tempfile::tempdir().unwrap();
        let wheel = build_wheel(dir.path(), spec);
        self.add_wheel(&wheel);
    }

    pub fn add_wheel(&self, wheel: &Path) {
        let bytes = std::fs::read(wheel).unwrap();
        let file = wheel.file_name().unwrap().to_string_lossy().into_owned();
        let project = normalize(file.split('-').next().unwrap());
        let sha = sha256_hex(&bytes);
        self.server.put(&format!("/files/{file}"), bytes);
        let mut projects = self.projects.lock().unwrap();
        let files = projects.entry(project.clone()).or_default();
        files.push((file, sha));
        let links: String = files
            .iter()
            .map(|(f, sha)| format!("<a href=\"../../files/{f}#sha256={sha}\">{f}</a><br/>\n"))
            .collect();
        let page = format!("<!DOCTYPE html><html><body>\n{links}</body></html>\n");
        self.server
            .put(&format!("/simple/{project}/"), page.into_bytes());
        let root: String = projects
            .keys()
            .map(|p| format!("<a href=\"{p}/\">{p}</a><br/>\n"))
            .collect();
        self.server.put(
            "/simple/",
            format!("<html><body>{root}</body></html>").into_bytes(),
        );
    }

    /// The sha256 of a published file.
    pub fn sha256_of(&self, project: &str, version: &str) -> String {
        let projects = self.projects.lock().unwrap();
        projects[&normalize(project)]
            .iter()
            .find(|(f, _)| f.contains(&format!("-{version}-")))
            .map(|(_, sha)| sha.clone())
            .unwrap()
    }
}

fn normalize(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}
