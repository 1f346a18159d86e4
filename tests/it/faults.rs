//! Fault injection with real processes: flaky servers, killed runs, busy
//! instances, shared caches, offline mode, and the lifecycle commands.

use std::process::Command;
use std::time::Duration;

use predicates::prelude::*;

use crate::support::faults::{Fault, FaultyServer};
use crate::support::index::PackageIndex;
use crate::support::{
    self, git_component, list_dir, sha256_hex, stderr_of, stdout_of, tar_gz, Env, GitRepo,
};

fn archive_manifest(url: &str, body: &[u8]) -> String {
    format!(
        "[components.theme]\nurl = \"{url}\"\nsha256 = \"{}\"\n",
        sha256_hex(body)
    )
}

#[test]
fn dropped_and_truncated_downloads_are_retried() {
    let env = Env::new();
    let body = tar_gz(Some("theme"), &[("style.css", "body {}\n")]);
    let server = FaultyServer::start(
        body.clone(),
        vec![Fault::Drop, Fault::Truncate, Fault::Unavailable],
    );
    let manifest = env.manifest_repo(&archive_manifest(&server.url("/theme.tar.gz"), &body), None);
    env.install_from("x", &manifest).success();
    assert_eq!(server.requests(), 4, "three faults, then the file");
    let css = env
        .instance_dir("x")
        .join("code/current/src/theme/style.css");
    assert_eq!(std::fs::read_to_string(css).unwrap(), "body {}\n");
}

#[test]
fn persistent_faults_fail_naming_component_and_url_and_cache_nothing() {
    let env = Env::new();
    let body = tar_gz(Some("theme"), &[("style.css", "body {}\n")]);
    let server = FaultyServer::start(body.clone(), vec![]);
    server.always(Fault::Truncate, 100);
    let url = server.url("/theme.tar.gz");
    let manifest = env.manifest_repo(&archive_manifest(&url, &body), None);
    let assert = env
        .cmd()
        .env("LAVA_RETRIES", "2")
        .args(["install", "x", "--manifest-branch", &manifest.url()])
        .assert()
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("component theme") && stderr.contains(&url),
        "{stderr}"
    );
    assert_eq!(server.requests(), 3, "one try and two retries");
    assert!(
        list_dir(&env.root.join("cache/downloads-v1/sha256")).is_empty(),
        "no partial download kept"
    );
    assert!(!env.instance_dir("x").exists());

    // A server that stalls is given up on after the timeout.
    server.always(Fault::Stall(Duration::from_secs(20)), 100);
    let started = std::time::Instant::now();
    env.cmd()
        .env("LAVA_RETRIES", "0")
        .env("LAVA_HTTP_TIMEOUT", "1")
        .args(["install", "x", "--manifest-branch", &manifest.url()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(&url));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn vanished_git_remote_fails_only_when_the_cache_cannot_satisfy_the_pin() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1")]);
    let text = format!(
        "[manifest]\nallow-unpinned = true\n{}[components.follow]\ngit = \"{}\"\n",
        git_component("pinned", &tool, "v1"),
        tool.url()
    );
    let manifest = env.manifest_repo(&text, None);
    env.install_from("x", &manifest).success();
    let gone = env.path("tool-moved");
    std::fs::rename(&tool.path, &gone).unwrap();
    let assert = env.run(&["upgrade", "x"]).code(1);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("component follow"), "{stderr}");
    assert!(
        !stderr.contains("component pinned"),
        "the tag is in the cache: {stderr}"
    );
    assert!(stderr.contains(&tool.url()), "{stderr}");
    assert_eq!(
        env.code_entries("x"),
        [env.current("x"), "current".to_owned()]
    );
}

/// Kills a run with SIGKILL at `point`, then checks the next run succeeds
/// and nothing half-built is left or trusted.
fn kill_at(env: &Env, point: &str, args: &[&str]) {
    let mut child = env.spawn_paused(point, args);
    child.kill().unwrap();
    child.wait().unwrap();
}

fn assert_clean(env: &Env, name: &str) {
    let entries = env.code_entries(name);
    assert!(
        entries.iter().all(|e| !e.starts_with(".tmp")),
        "{entries:?}"
    );
    for entry in entries.iter().filter(|e| *e != "current") {
        let lock = env
            .instance_dir(name)
            .join("code")
            .join(entry)
            .join("lava.lock");
        assert!(lock.is_file(), "{entry} is a release without lava.lock");
    }
}

#[test]
fn killed_runs_at_every_point_are_recovered_by_the_next_run() {
    let index = PackageIndex::start();
    let env = Env::new();
    let server = crate::support::HttpServer::start();
    // Both the git tree and the archive change with every upgrade, so each
    // point is really reached (unchanged trees would be reused instead).
    let archives: Vec<(String, Vec<u8>)> = ["v1", "v2"]
        .iter()
        .map(|rev| {
            let body = tar_gz(Some("theme"), &[("a.css", rev)]);
            (
                server.put(&format!("/theme-{rev}.tar.gz"), body.clone()),
                body,
            )
        })
        .collect();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1"), ("v2", "2")]);
    let text = |rev: &str| {
        let (url, body) = &archives[usize::from(rev == "v2")];
        format!(
            "[python]\nindex-url = \"{}\"\n[components.lonely]\npython = \"1.0\"\n{}{}",
            index.url(),
            git_component("tool", &tool, rev),
            archive_manifest(url, body)
        )
    };
    let manifest = env.manifest_repo(&text("v1"), None);
    let install = ["install", "x", "--manifest-branch", &manifest.url()];

    // An install killed while fetching: the next install resumes.
    kill_at(&env, "fetch", &install);
    assert!(env.current_lock_opt("x").is_none());
    env.run(&install).success();
    assert_clean(&env, "x");
    let installed = env.current("x");

    let mut rev = "v1";
    for point in ["fetch", "extract", "env", "before-switch"] {
        rev = if rev == "v1" { "v2" } else { "v1" };
        manifest.write("lava.toml", &text(rev));
        manifest.commit(point);
        let before = env.current("x");
        kill_at(&env, point, &["upgrade", "x"]);
        assert_eq!(
            env.current("x"),
            before,
            "{point}: current untouched by the killed run"
        );
        env.run(&["upgrade", "x"]).success();
        assert_ne!(env.current("x"), before, "{point}");
        assert_clean(&env, "x");
        let v =
            std::fs::read_to_string(env.instance_dir("x").join("code/current/src/tool/V")).unwrap();
        assert_eq!(v, if rev == "v1" { "1" } else { "2" }, "{point}");
        let lonely = env.instance_dir("x").join("bin/lonely");
        assert!(
            Command::new(&lonely).output().unwrap().status.success(),
            "{point}"
        );
    }
    assert_ne!(installed, env.current("x"));
}

#[test]
fn sigterm_and_sigint_stop_cleanly() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1"), ("v2", "2")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        manifest.write("lava.toml", &git_component("tool", &tool, "v2"));
        manifest.commit(signal);
        let child = env.spawn_paused("fetch", &["upgrade", "x"]);
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(code), "SIG{signal}");
        assert_eq!(env.current("x"), "0001-r1");
        assert_clean(&env, "x");
        assert_eq!(
            env.code_entries("x"),
            ["0001-r1", "current"],
            "SIG{signal}: the temp release is gone"
        );
        // The lock went with the process: the next command runs at once.
        env.run(&["status", "x"]).success();
        env.run(&["rollback", "x"]).code(2);
    }
}

#[test]
fn two_upgrades_of_one_instance_never_run_at_once() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1"), ("v2", "2")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    manifest.write("lava.toml", &git_component("tool", &tool, "v2"));
    manifest.commit("v2");
    let mut first = env.spawn_paused("fetch", &["upgrade", "x"]);
    let pid = first.id().to_string();
    env.run(&["upgrade", "x"])
        .code(3)
        .stderr(predicate::str::contains(format!(
            "instance x is busy: pid {pid} running `upgrade` since"
        )));
    let started = std::time::Instant::now();
    env.run(&["upgrade", "x", "--wait=1"]).code(3);
    assert!(started.elapsed() >= Duration::from_secs(1));
    env.run(&["status", "x"]).success();
    first.kill().unwrap();
    first.wait().unwrap();
    env.run(&["upgrade", "x", "--wait"]).success();
    assert_clean(&env, "x");
}

#[test]
fn concurrent_installs_of_different_instances_share_the_cache() {
    let env = Env::new();
    let server = crate::support::HttpServer::start();
    let body = tar_gz(Some("theme"), &[("a.css", "a\n")]);
    let url = server.put("/theme.tar.gz", body.clone());
    let repos: Vec<GitRepo> = (0..3)
        .map(|i| env.tagged_repo(&format!("tool{i}"), "V", &[("v1", "1")]))
        .collect();
    let mut text = archive_manifest(&url, &body);
    for (i, repo) in repos.iter().enumerate() {
        text.push_str(&git_component(&format!("tool{i}"), repo, "v1"));
    }
    let manifest = env.manifest_repo(&text, None);
    let children: Vec<_> = (0..4)
        .map(|i| {
            env.std_cmd()
                .args([
                    "install",
                    &format!("lab{i}"),
                    "--manifest-branch",
                    &manifest.url(),
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let first = env.current_lock("lab0");
    for i in 1..4 {
        assert_eq!(
            env.current_lock(&format!("lab{i}"))["components"],
            first["components"]
        );
        env.run(&["verify", &format!("lab{i}")]).success();
    }
}

#[test]
fn offline_uses_only_the_cache_and_names_everything_missing() {
    let env = Env::new();
    let server = crate::support::HttpServer::start();
    let body = tar_gz(Some("theme"), &[("a.css", "a\n")]);
    let url = server.put("/theme.tar.gz", body.clone());
    let tool = env.tagged_repo("tool", "V", &[("v1", "1")]);
    let manifest = env.manifest_repo(
        &format!(
            "{}{}",
            archive_manifest(&url, &body),
            git_component("tool", &tool, "v1")
        ),
        None,
    );
    // Cold cache: the manifest branch itself is missing.
    env.run(&[
        "install",
        "x",
        "--offline",
        "--manifest-branch",
        &manifest.url(),
    ])
    .code(1)
    .stderr(predicate::str::contains("not in the cache"));
    // Manifest cached, components not: both named at once.
    env.run(&["manifest", "show", "--manifest-branch", &manifest.url()])
        .success();
    let assert = env
        .run(&[
            "install",
            "x",
            "--offline",
            "--manifest-branch",
            &manifest.url(),
        ])
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("component tool") && stderr.contains("component theme"),
        "{stderr}"
    );
    assert!(!env.instance_dir("x").exists());
    // Warm cache: works with the network gone.
    env.install_from("warm", &manifest).success();
    drop(server);
    std::fs::rename(&tool.path, env.path("gone")).unwrap();
    env.cmd()
        .env("LAVA_OFFLINE", "1")
        .args(["install", "x", "--manifest-branch", &manifest.url()])
        .assert()
        .success();
}

#[test]
fn prune_remove_and_verify() {
    let env = Env::new();
    let versions: Vec<(String, String)> =
        (1..=8).map(|i| (format!("v{i}"), i.to_string())).collect();
    let pairs: Vec<(&str, &str)> = versions
        .iter()
        .map(|(t, c)| (t.as_str(), c.as_str()))
        .collect();
    let tool = env.tagged_repo("tool", "V", &pairs);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), None);
    env.install_from("x", &manifest).success();
    for (tag, _) in &versions[1..] {
        manifest.write("lava.toml", &git_component("tool", &tool, tag));
        manifest.commit(tag);
        env.run(&["upgrade", "x"]).success();
    }
    let releases: Vec<String> = env
        .code_entries("x")
        .into_iter()
        .filter(|e| e != "current")
        .collect();
    assert_eq!(releases.len(), 5, "upgrade keeps 5: {releases:?}");
    assert!(
        releases[0].starts_with("0004-") && releases[4].starts_with("0008-"),
        "{releases:?}"
    );

    env.run(&["rollback", "x"]).success();
    env.run(&["prune", "x", "--keep", "1"]).success();
    let releases: Vec<String> = env
        .code_entries("x")
        .into_iter()
        .filter(|e| e != "current")
        .collect();
    assert_eq!(
        releases.len(),
        3,
        "newest, current (rolled back) and the one before it: {releases:?}"
    );
    assert!(releases.contains(&env.current("x")));

    env.run(&["verify", "x"])
        .success()
        .stdout(predicate::str::contains("matches its lava.lock"));
    let file = env.instance_dir("x").join("code/current/src/tool/V");
    std::fs::write(&file, "tampered").unwrap();
    std::fs::write(
        env.instance_dir("x").join("code/current/src/tool/extra"),
        "x",
    )
    .unwrap();
    let assert = env.run(&["verify", "x"]).code(1);
    let out = stdout_of(&assert);
    assert!(out.contains("component tool: V differs"), "{out}");
    assert!(
        out.contains("component tool: extra is not in the pinned tree"),
        "{out}"
    );

    env.run(&["remove", "x"])
        .code(2)
        .stderr(predicate::str::contains("--yes"));
    assert!(env.instance_dir("x").exists());
    env.run(&["remove", "x", "--yes"]).success();
    assert!(!env.instance_dir("x").exists());
    assert!(
        env.root.join("cache/git-v2/db").is_dir(),
        "the shared cache is kept"
    );
    env.run(&["status", "x"]).code(2);
}

/// Runs `f` with a tiny tmpfs mounted at `dir`; skipped through
/// `support::require` where this sandbox may not mount.
fn with_small_disk(dir: &std::path::Path, size: &str, f: impl FnOnce()) {
    std::fs::create_dir_all(dir).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output()
        .is_ok_and(|o| o.status.success());
    if !support::require(
        (!mounted).then(|| {
            "cannot mount a tmpfs here (needs root in a sandbox that allows it)".to_owned()
        }),
    ) {
        return;
    }
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(self.0).status();
        }
    }
    let _unmount = Unmount(dir);
    f();
}

#[test]
fn a_full_disk_mid_build_fails_cleanly_naming_the_path() {
    let mut env = Env::new();
    let disk = env.path("small");
    env.root = disk.join("root");
    with_small_disk(&disk, "4m", || {
        let server = crate::support::HttpServer::start();
        let small = tar_gz(Some("theme"), &[("a.css", "a\n")]);
        // Text that compresses well but does not fit once unpacked.
        let big_text = "lava ".repeat(2 * 1024 * 1024);
        let big = tar_gz(
            Some("theme"),
            &[
                ("a.css", "a\n"),
                ("big.txt", &big_text),
                ("big2.txt", &big_text),
            ],
        );
        let manifest = env.manifest_repo(
            &archive_manifest(&server.put("/small.tar.gz", small.clone()), &small),
            None,
        );
        let root = env.root.clone();
        let run = |args: &[&str]| env.run(args);
        run(&["install", "x", "--manifest-branch", &manifest.url()]).success();
        manifest.write(
            "lava.toml",
            &archive_manifest(&server.put("/big.tar.gz", big.clone()), &big),
        );
        manifest.commit("big");
        let assert = run(&["upgrade", "x"]).code(1);
        let stderr = stderr_of(&assert);
        assert!(stderr.contains("component theme"), "{stderr}");
        assert!(
            stderr.contains(root.to_str().unwrap()),
            "the path is named: {stderr}"
        );
        let code = list_dir(&root.join("instances/x/code"));
        assert_eq!(
            code.len(),
            2,
            "only the first release and current: {code:?}"
        );
        assert!(code.iter().all(|e| !e.starts_with(".tmp")));
        run(&["verify", "x"]).success();
    });
}

#[test]
fn an_unwritable_directory_mid_build_fails_cleanly_naming_the_path() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), None);
    env.install_from("x", &manifest).success();
    // The instance belongs to an unprivileged user, but code/ does not.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(env.tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let chown = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&env.root)
        .status()
        .unwrap();
    assert!(chown.success());
    let code = env.instance_dir("x").join("code");
    std::os::unix::fs::chown(&code, Some(0), Some(0)).unwrap();
    let as_nobody = |args: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(assert_cmd::cargo::cargo_bin("lava-deploy"))
            .args(args)
            .env("HOME", env.tmp.path());
        cmd.output()
    };
    let runs = as_nobody(&["--version"]).is_ok_and(|o| o.status.success());
    if !support::require(
        (!runs).then(|| "cannot run the binary as an unprivileged user here (setpriv)".to_owned()),
    ) {
        return;
    }
    let output = as_nobody(&["--root", env.root.to_str().unwrap(), "rebuild", "x"]).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(code.to_str().unwrap()),
        "the path is named: {stderr}"
    );
    assert!(stderr.contains("ermission denied"), "{stderr}");
    assert_eq!(env.code_entries("x").len(), 2);
    env.run(&["verify", "x"]).success();
}
