//! Real LAVA for the opt-in tests: the fixture's 2026.07 source tree in a
//! git repository tagged as upstream tags it, made once per test run and
//! shared by every test that deploys it, and one installer cache for all of
//! them (so LAVA's dependencies are downloaded once).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{Env, GitRepo};

/// LAVA's upstream repository, as the built-in manifests name it.
pub const UPSTREAM: &str = "https://gitlab.com/lava/lava.git";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/lava-2026.07.tar.gz")
}

/// Why the real LAVA cannot be deployed here (for `support::require`), or None.
pub fn missing() -> Option<String> {
    if !fixture().is_file() {
        return Some(format!("{} is not there", fixture().display()));
    }
    None
}

/// The repository of LAVA 2026.07 (tag `2026.07`), made on first use.
pub fn repo() -> &'static GitRepo {
    static REPO: OnceLock<GitRepo> = OnceLock::new();
    REPO.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lava-2026.07-git");
        if dir.join(".git").is_dir() {
            let repo = GitRepo { path: dir.clone() };
            if repo.git(&["tag", "--list", "2026.07"]) == "2026.07" {
                return repo;
            }
        }
        // Made beside its place and renamed in: a killed run leaves no
        // half-made repository to be taken for a whole one.
        let building = dir.with_extension(format!("tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&building);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&building).unwrap();
        let archive = flate2::read::GzDecoder::new(std::fs::File::open(fixture()).unwrap());
        let mut archive = tar::Archive::new(archive);
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().into_owned();
            let inner: PathBuf = path.components().skip(1).collect();
            if inner.as_os_str().is_empty() {
                continue;
            }
            entry.unpack(building.join(inner)).unwrap();
        }
        let repo = GitRepo::init(&building);
        repo.commit("LAVA 2026.07");
        repo.tag("2026.07");
        std::fs::rename(&building, &dir).unwrap();
        GitRepo { path: dir }
    })
}

/// A built-in manifest (`manifests/NAME`) with LAVA taken from `repo()`.
pub fn builtin(name: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("manifests")
            .join(name),
    )
    .unwrap();
    assert!(text.contains(UPSTREAM), "{name} does not name {UPSTREAM}");
    text.replace(UPSTREAM, &repo().url())
}

/// A file of `examples/`.
pub fn example(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(path),
    )
    .unwrap()
}

/// `lava-deploy` for a LAVA deployment: uv, with the installer cache
/// every LAVA test shares.
pub fn cmd(env: &Env) -> assert_cmd::Command {
    let mut cmd = env.cmd();
    cmd.env("LAVA_PYTHON_INSTALLER", "uv")
        .env(
            "UV_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("uv-cache-lava"),
        )
        .timeout(std::time::Duration::from_secs(900));
    cmd
}

/// The instance's own PostgreSQL cluster runs as user `postgres`, who must
/// reach it: the test's temp dir is private (0700) until opened here.
pub fn open_to_postgres(env: &Env) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(env.tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Why the instance's own cluster cannot run here, or None.
pub fn missing_postgresql() -> Option<String> {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().join("bin/initdb").is_file());
    (!found).then(|| {
        "PostgreSQL's server binaries are not installed (apt-get install postgresql)".to_owned()
    })
}

/// Whether process `pid` runs: a zombie (exited, not reaped yet by init,
/// the parent of every daemon) does not.
pub fn running(pid: &str) -> bool {
    std::fs::read_to_string(Path::new("/proc").join(pid).join("status")).is_ok_and(|status| {
        !status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains("(zombie)"))
    })
}
