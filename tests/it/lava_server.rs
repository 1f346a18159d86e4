//! The acceptance test of the service lifecycle: the real LAVA 2026.07
//! (the fixture's source tree, committed into a git repository tagged
//! `2026.07`) deployed with the built-in `lava-server.toml`, its Python
//! dependencies from the package index. Opt-in (`--ignored`): it needs the
//! index and takes a minute or two; `.ci/run` runs it when the fixture is
//! there.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::support::{run_ok, stdout_of, Env};

fn fixture() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/lava-2026.07.tar.gz");
    path.is_file().then_some(path)
}

/// Stops the gunicorn the deployment started.
struct Gunicorn(PathBuf);

impl Drop for Gunicorn {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = std::process::Command::new("kill").arg(pid.trim()).status();
        }
    }
}

fn get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
#[ignore = "needs the package index and ../shared/fixtures; run with --ignored lava_server"]
fn lava_server_2026_07_deploys_serves_and_upgrades_as_a_no_op() {
    let found = fixture();
    if !crate::support::require(
        found
            .is_none()
            .then(|| "../shared/fixtures/lava-2026.07.tar.gz is not there".to_owned()),
    ) {
        return;
    }
    let tarball = found.unwrap();
    let env = Env::new();
    let started = Instant::now();
    // The real tree, in a git repository tagged as upstream tags it.
    let source = env.path("lava");
    std::fs::create_dir_all(&source).unwrap();
    run_ok(
        Path::new("tar"),
        &[
            "xzf",
            tarball.to_str().unwrap(),
            "-C",
            source.to_str().unwrap(),
            "--strip-components=1",
        ],
    );
    let repo = crate::support::GitRepo::init(&source);
    repo.git(&["add", "-A"]);
    repo.commit("LAVA 2026.07");
    repo.tag("2026.07");
    // The built-in manifest, pointed at that repository and a free port.
    let port = crate::support::free_port();
    let builtin = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/lava-server.toml"),
    )
    .unwrap();
    let manifest = builtin
        .replace("https://gitlab.com/lava/lava.git", &repo.url())
        .replace("127.0.0.1:8000", &format!("127.0.0.1:{port}"));
    assert_ne!(manifest, builtin);
    let branch = env.manifest_repo(&manifest, Some("lab-1"));
    let _gunicorn = Gunicorn(env.instance_dir("lab").join("shared/run/gunicorn.pid"));

    let installed = env
        .cmd()
        .env("LAVA_PYTHON_INSTALLER", "uv")
        .args([
            "install",
            "lab",
            "--json",
            "--manifest-branch",
            &branch.url(),
        ])
        .timeout(std::time::Duration::from_secs(900))
        .assert();
    let report: serde_json::Value =
        serde_json::from_str(&stdout_of(&installed)).unwrap_or_else(|_| panic!("{installed:?}"));
    assert_eq!(report["error"], serde_json::Value::Null, "{report:#}");
    installed.success();
    eprintln!(
        "LAVA 2026.07 installed and serving in {:.1?}",
        started.elapsed()
    );
    assert_eq!(report["release"], "0001-lab-1");
    assert_eq!(
        crate::support::hook_phases(&report),
        ["setup", "pre-switch", "pre-switch", "post-switch", "check"]
    );

    let answer = get(port, "/api/v0.2/system/version/");
    assert!(answer.lines().next().unwrap().contains(" 200 "), "{answer}");
    assert!(answer.ends_with("{\"version\":\"2026.07\"}"), "{answer}");
    let shared = env.instance_dir("lab").join("shared");
    assert!(shared.join("var/lib/lava-server.sqlite3").is_file());
    assert!(
        std::fs::metadata(shared.join("etc/secret_key"))
            .unwrap()
            .len()
            > 40
    );
    let lock = env.current_lock("lab");
    assert_eq!(
        lock["components"]["lava"]["commit"].as_str().unwrap(),
        repo.head()
    );

    let again = env.run(&["upgrade", "lab", "--json"]).success();
    let report: serde_json::Value = serde_json::from_str(&stdout_of(&again)).unwrap();
    assert_eq!(report["changed"], false);
    assert!(get(port, "/api/v0.2/system/version/").ends_with("{\"version\":\"2026.07\"}"));
    assert_eq!(
        report["manifest"]["commit"].as_str(),
        Some(branch.head().as_str())
    );

    // Removing the instance stops gunicorn (the manifest's `stop` hook).
    env.run(&["remove", "lab", "--yes"]).success();
    assert!(!env.instance_dir("lab").exists());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "gunicorn still answers on port {port} after remove"
    );
    eprintln!("whole test: {:.1?}", started.elapsed());
}
