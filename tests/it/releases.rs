//! Releases are independent: reused trees are never shared writable files
//! (unless `--link-mode hardlink` is asked for), and nothing a manifest
//! says can create a path outside its release.

use std::io::Write;

use predicates::prelude::*;

use crate::support::{git_component, Env, GitRepo};

/// An instance at release 0001 of a manifest whose next commit (tag r2)
/// changes only `tool`, so an upgrade reuses the `other` tree.
fn installed_with_upgrade_pending(env: &Env) -> GitRepo {
    let tool = env.tagged_repo("tool", "VERSION", &[("v1", "1\n"), ("v2", "2\n")]);
    let other = env.tagged_repo("other", "README", &[("o1", "other\n")]);
    let text = |rev: &str| {
        format!(
            "{}{}",
            git_component("tool", &tool, rev),
            git_component("other", &other, "o1")
        )
    };
    let manifest = env.manifest_repo(&text("v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    manifest.write("lava.toml", &text("v2"));
    manifest.commit("v2");
    manifest.tag("r2");
    manifest
}

/// The same instance upgraded to 0002 with `extra` arguments; its `code/`.
fn upgraded(env: &Env, extra: &[&str]) -> std::path::PathBuf {
    installed_with_upgrade_pending(env);
    let mut args = vec!["upgrade", "x"];
    args.extend_from_slice(extra);
    env.run(&args).success();
    assert_eq!(env.current("x"), "0002-r2");
    env.instance_dir("x").join("code")
}

/// What an operator's `echo >> file` does: append in place.
fn append(path: &std::path::Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[test]
fn editing_current_leaves_the_rollback_target_unchanged() {
    for extra in [&[][..], &["--link-mode", "copy"], &["--link-mode", "clone"]] {
        let env = Env::new();
        let code = upgraded(&env, extra);
        append(&code.join("current/src/other/README"), "edited in place\n");
        assert_eq!(
            std::fs::read_to_string(code.join("0001-r1/src/other/README")).unwrap(),
            "other\n",
            "{extra:?}: the previous release must not change"
        );
        env.run(&["rollback", "x"]).success();
        assert_eq!(
            std::fs::read_to_string(code.join("current/src/other/README")).unwrap(),
            "other\n",
            "{extra:?}: rollback returns to the release as it was built"
        );
        env.run(&["verify", "x"]).success();
    }
}

#[test]
fn hardlink_mode_shares_files_and_verify_reports_edits() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new();
    let code = upgraded(&env, &["--link-mode", "hardlink"]);
    let inode = |release: &str| {
        std::fs::metadata(code.join(release).join("src/other/README"))
            .unwrap()
            .ino()
    };
    assert_eq!(
        inode("0001-r1"),
        inode("0002-r2"),
        "hardlink shares the file"
    );
    append(&code.join("current/src/other/README"), "edited\n");
    // The documented price of hardlink: the edit reaches the older release
    // too, and verify says so.
    assert!(
        std::fs::read_to_string(code.join("0001-r1/src/other/README"))
            .unwrap()
            .contains("edited")
    );
    env.run(&["verify", "x"])
        .code(1)
        .stdout(predicate::str::contains("component other: README differs"));
}

#[test]
fn link_mode_comes_from_the_environment_and_bad_values_are_refused() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new();
    env.cmd()
        .args(["--link-mode", "symlink", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("clone, copy, hardlink"));
    installed_with_upgrade_pending(&env);
    env.cmd()
        .env("LAVA_LINK_MODE", "hardlink")
        .args(["upgrade", "x"])
        .assert()
        .success();
    let code = env.instance_dir("x").join("code");
    let releases = crate::support::list_dir(&code);
    let inode = |release: &str| {
        std::fs::metadata(code.join(release).join("src/other/README"))
            .unwrap()
            .ino()
    };
    assert_eq!(inode(&releases[0]), inode(&releases[1]));
}

/// Everything under the test's temp dir, for "nothing was created outside".
fn all_paths(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                pending.push(path.clone());
            }
            found.push(path.display().to_string());
        }
    }
    found.sort();
    found
}

#[test]
fn hostile_component_names_from_any_reader_are_refused_before_anything_is_written() {
    let env = Env::new();
    let repo = env.tagged_repo("repo", "README", &[("v1", "x\n")]);
    let buildout = format!(
        "[buildout]\nparts =\n\n[git-repos]\n../../../../pwned = {}\n\n[git-heads]\n../../../../pwned = v1\n",
        repo.url()
    );
    let manifest = env.git_repo("manifest");
    manifest.write("buildout.cfg", &buildout);
    manifest.write(
        "lava.toml",
        &format!(
            "[components.\"../../pwned\"]\ngit = \"{}\"\nrev = \"v1\"\n",
            repo.url()
        ),
    );
    manifest.commit("hostile");
    for (cfg, line) in [
        ("buildout.cfg", "buildout.cfg:5"),
        ("lava.toml", "lava.toml:1"),
    ] {
        env.run(&[
            "install",
            "x",
            "--manifest-branch",
            &manifest.url(),
            "--cfg",
            cfg,
        ])
        .code(2)
        .stderr(predicate::str::contains(line))
        .stderr(predicate::str::contains("the name must be"));
        assert!(!env.root.join("instances/x").exists(), "{cfg}");
        assert!(!env.root.join("instances/pwned").exists(), "{cfg}");
        assert!(!env.root.join("pwned").exists(), "{cfg}");
        let outside: Vec<String> = all_paths(env.tmp.path())
            .into_iter()
            .filter(|p| p.contains("pwned"))
            .collect();
        assert!(outside.is_empty(), "{cfg}: {outside:?}");
    }
    // manifest convert reads the same way.
    let cfg = env.path("hostile.cfg");
    std::fs::write(&cfg, &buildout).unwrap();
    env.run(&["manifest", "convert", cfg.to_str().unwrap()])
        .code(2)
        .stderr(predicate::str::contains("component ../../../../pwned"));
}

#[test]
fn a_waiter_never_holds_a_lock_on_a_deleted_file() {
    // A: a first install that will fail, paused while it holds the lock.
    // B: a second install waiting for that lock. When A fails it deletes
    // the instance directory it created; B then goes on, and C, started
    // while B works, must find the instance busy. (With the lock file
    // inside the deleted directory, B would hold a lock on an unlinked file
    // and C would run beside it.)
    let env = Env::new();
    let broken = env.git_repo("broken");
    broken.write(
        "lava.toml",
        &format!(
            "[components.theme]\nurl = \"file://{}/missing.tar.gz\"\nsha256 = \"{}\"\n",
            env.tmp.path().display(),
            "0".repeat(64)
        ),
    );
    broken.commit("broken");
    let good = env.tagged_repo("tool", "VERSION", &[("v1", "1\n")]);
    let manifest = env.manifest_repo(&git_component("tool", &good, "v1"), Some("r1"));
    let release = env.path("release-a");
    let mut a = env.spawn_paused_with(
        "fetch",
        &["install", "y", "--manifest-branch", &broken.url()],
        |cmd| {
            cmd.env("LAVA_FAILPOINT_RELEASE", &release);
        },
    );
    let b = std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            env.spawn_paused(
                "before-switch",
                &[
                    "install",
                    "y",
                    "--wait",
                    "120",
                    "--manifest-branch",
                    &manifest.url(),
                ],
            )
        });
        // B is waiting on the lock A holds; now let A fail.
        std::thread::sleep(std::time::Duration::from_millis(1500));
        std::fs::write(&release, "").unwrap();
        waiter.join().unwrap()
    });
    assert!(!a.wait().unwrap().success(), "A fails (missing archive)");
    // B holds the instance now, paused before its switch: C must wait its turn.
    let mut b = b;
    env.run(&["install", "y", "--manifest-branch", &manifest.url()])
        .code(3)
        .stderr(predicate::str::contains(format!("pid {}", b.id())));
    b.kill().unwrap();
    b.wait().unwrap();
    assert!(env.root.join("locks/y.lock").is_file());
}
