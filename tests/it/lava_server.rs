//! The acceptance test of the service lifecycle: the real LAVA 2026.07
//! (the fixture's source tree, committed into a git repository tagged
//! `2026.07`) deployed with the built-in `lava-server.toml` on its own
//! PostgreSQL cluster, its Python dependencies from the package index.
//! Opt-in (`--ignored`): it needs the index and takes a minute or two;
//! `.ci/run` runs it.

use std::time::Instant;

use crate::support::{self, lava, stdout_of, Env};

/// Stops what the deployment started (its `stop` hook), also when an
/// assertion fails halfway.
struct Stop<'a>(&'a Env);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        if self.0.instance_dir("lab").join("code/current").exists() {
            let _ = lava::cmd(self.0).args(["stop", "lab"]).output();
        }
    }
}

fn get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
#[ignore = "needs the package index, ../shared/fixtures and postgresql; run with --ignored lava_server"]
fn lava_server_2026_07_deploys_serves_and_upgrades_as_a_no_op() {
    if !support::require(lava::missing().or_else(lava::missing_postgresql)) {
        return;
    }
    let env = Env::new();
    lava::open_to_postgres(&env);
    let started = Instant::now();
    // The built-in manifest as shipped (LAVA from the fixture's repository)
    // is the branch; a file extending it moves it to a free port.
    let port = support::free_port();
    let branch = env.manifest_repo(
        &format!(
            "[manifest]\nextends = \"lava-server.toml\"\n\n[environment]\n\
             LAVA_SERVER_BIND = \"127.0.0.1:{port}\"\nLAVA_PUBLISHER_PORT = \"{}\"\n\
             LAVA_EVENT_PORT = \"{}\"\n",
            support::free_port(),
            support::free_port()
        ),
        None,
    );
    branch.write("lava-server.toml", &lava::builtin("lava-server.toml"));
    branch.commit("lab-1");
    branch.tag("lab-1");
    let _stop = Stop(&env);

    let installed = lava::cmd(&env)
        .args([
            "install",
            "lab",
            "--json",
            "--manifest-branch",
            &branch.url(),
        ])
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
    let phases = support::hook_phases(&report);
    let first_check = phases.iter().position(|p| p == "check").unwrap();
    assert_eq!(
        phases[..first_check],
        [
            "setup",
            "setup",
            "build",
            "build",
            "pre-switch",
            "pre-switch",
            "pre-switch",
            "post-switch",
            "post-switch",
            "post-switch"
        ]
    );

    let answer = get(port, "/api/v0.2/system/version/");
    assert!(answer.lines().next().unwrap().contains(" 200 "), "{answer}");
    assert!(answer.ends_with("{\"version\":\"2026.07\"}"), "{answer}");
    // The UI's static files are collected into the release and served.
    let css = get(port, "/static/lava_server/css/bootstrap-3.4.1.css");
    assert!(
        css.lines().next().unwrap().contains(" 200 "),
        "{}",
        &css[..200.min(css.len())]
    );
    let home = get(port, "/");
    assert!(
        home.contains("/static/lava_server/css/bootstrap-3.4.1.css"),
        "the home page links its stylesheet"
    );
    let shared = env.instance_dir("lab").join("shared");
    assert!(shared.join("var/lib/postgresql/PG_VERSION").is_file());
    assert!(
        std::fs::metadata(shared.join("etc/secret_key"))
            .unwrap()
            .len()
            > 40
    );
    let lock = env.current_lock("lab");
    assert_eq!(
        lock["components"]["lava"]["commit"].as_str().unwrap(),
        lava::repo().head()
    );

    let again = lava::cmd(&env)
        .args(["upgrade", "lab", "--json"])
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_str(&stdout_of(&again)).unwrap();
    assert_eq!(report["changed"], false);
    assert!(get(port, "/api/v0.2/system/version/").ends_with("{\"version\":\"2026.07\"}"));
    assert_eq!(
        report["manifest"]["commit"].as_str(),
        Some(branch.head().as_str())
    );
    // `status` says which LAVA answers, and how the last check went.
    let status = lava::cmd(&env)
        .args(["status", "lab", "--json"])
        .assert()
        .success();
    let status: serde_json::Value = serde_json::from_str(&stdout_of(&status)).unwrap();
    assert_eq!(status["answer"]["version"], "2026.07", "{status:#}");
    assert_eq!(status["health"], "ok");
    assert_eq!(status["last_check"]["ok"], true);
    assert_eq!(status["last_check"]["action"], "install");

    // Removing the instance stops every daemon and the cluster (the
    // manifest's `stop` hook).
    let postmaster =
        std::fs::read_to_string(shared.join("var/lib/postgresql/postmaster.pid")).unwrap();
    let postmaster = postmaster.lines().next().unwrap().to_owned();
    lava::cmd(&env)
        .args(["remove", "lab", "--yes"])
        .assert()
        .success();
    assert!(!env.instance_dir("lab").exists());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "gunicorn still answers on port {port} after remove"
    );
    assert!(!lava::running(&postmaster), "PostgreSQL outlived remove");
    eprintln!("whole test: {:.1?}", started.elapsed());
}

/// No PostgreSQL server binaries where the manifest looks for them: the
/// first hook says what to install, and nothing of the instance is left.
#[test]
#[ignore = "needs ../shared/fixtures; run with --ignored lava_server"]
fn lava_server_without_postgresql_says_to_install_it() {
    if !support::require(lava::missing()) {
        return;
    }
    let env = Env::new();
    let empty = env.path("no-postgresql");
    std::fs::create_dir_all(&empty).unwrap();
    let branch = env.manifest_repo(
        &format!(
            "[manifest]\nextends = \"lava-server.toml\"\n\n[environment]\n\
             LAVA_POSTGRESQL_BIN = \"{}\"\n",
            empty.display()
        ),
        None,
    );
    branch.write("lava-server.toml", &lava::builtin("lava-server.toml"));
    branch.commit("no postgresql");
    let failed = lava::cmd(&env)
        .args(["install", "lab", "--manifest-branch", &branch.url()])
        .assert()
        .code(1);
    let stderr = support::stderr_of(&failed);
    assert!(
        stderr.contains(&format!(
            "no PostgreSQL server binaries (initdb) in {}",
            empty.display()
        )) && stderr.contains("apt-get install postgresql"),
        "{stderr}"
    );
    assert!(!env.instance_dir("lab").join("code/current").exists());
}
