use predicates::prelude::*;

use crate::support::{git_component, read_toml, stderr_of, stdout_of, Env, GitRepo};

/// A component repo with tags v1 and v2 on `main`.
fn component(env: &Env) -> GitRepo {
    env.tagged_repo("tool", "VERSION", &[("v1", "1\n"), ("v2", "2\n")])
}

fn pinned(tool: &GitRepo, rev: &str) -> String {
    git_component("tool", tool, rev)
}

#[test]
fn unchanged_manifest_is_a_no_op() {
    let env = Env::new();
    let tool = component(&env);
    let manifest = env.manifest_repo(&pinned(&tool, "v1"), Some("2012.07"));
    env.install_from("x", &manifest).success();
    // A new manifest commit that pins the same things builds nothing.
    manifest.write("README", "docs only\n");
    manifest.commit("docs");
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains(
            "x is up to date (release 0001-2012.07)",
        ));
    assert_eq!(env.code_entries("x"), ["0001-2012.07", "current"]);
}

#[test]
fn changed_pin_builds_a_new_release_and_switches() {
    let env = Env::new();
    let tool = component(&env);
    let manifest = env.manifest_repo(&pinned(&tool, "v1"), Some("2012.07"));
    env.install_from("x", &manifest).success();
    let old_release = env.instance_dir("x").join("code/0001-2012.07");

    manifest.write("lava.toml", &pinned(&tool, "v2"));
    manifest.commit("v2");
    manifest.tag("2012.08");
    let plan = env.run(&["plan", "x"]).success();
    let plan_out = stdout_of(&plan);
    assert!(plan_out.contains("~ tool: v1 ("), "{plan_out}");
    assert!(plan_out.contains("-> v2 ("), "{plan_out}");
    assert!(
        plan_out.contains("upgrade would build a new release"),
        "{plan_out}"
    );
    assert_eq!(env.current("x"), "0001-2012.07", "plan changes nothing");

    let json = env.run(&["plan", "x", "--json"]).success();
    let plan: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(plan["up_to_date"], false);
    assert_eq!(plan["components"][0]["component"], "tool");
    assert_eq!(plan["components"][0]["change"], "changed");

    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains(
            "upgraded x: release 0002-2012.08 is current",
        ));
    assert_eq!(env.current("x"), "0002-2012.08");
    let new_release = env.instance_dir("x").join("code/0002-2012.08");
    assert_eq!(
        std::fs::read_to_string(new_release.join("src/tool/VERSION")).unwrap(),
        "2\n"
    );
    assert_eq!(
        std::fs::read_to_string(old_release.join("src/tool/VERSION")).unwrap(),
        "1\n",
        "old release kept"
    );
    env.run(&["plan", "x"])
        .success()
        .stdout(predicate::str::contains("up to date"));
}

#[test]
fn branches_are_followed_when_unpinned_is_allowed() {
    let env = Env::new();
    let tool = component(&env);
    let manifest = env.manifest_repo(
        &format!(
            "[manifest]\nallow-unpinned = true\n[components.tool]\ngit = \"{}\"\n",
            tool.url()
        ),
        None,
    );
    env.install_from("x", &manifest).success();
    assert_eq!(
        env.current_lock("x")["components"]["tool"]["commit"].as_str(),
        Some(tool.head().as_str())
    );
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("up to date"));

    tool.write("VERSION", "3\n");
    let three = tool.commit("three");
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("release 0002-"));
    assert_eq!(
        env.current_lock("x")["components"]["tool"]["commit"].as_str(),
        Some(three.as_str())
    );
}

#[test]
fn override_given_to_upgrade_is_recorded_and_followed() {
    let env = Env::new();
    let tool = component(&env);
    let manifest = env.git_repo("manifest");
    manifest
        .write("lava.toml", &pinned(&tool, "v1"))
        .write("v2.toml", &pinned(&tool, "v2"));
    manifest.commit("m");
    env.install_from("x", &manifest).success();

    env.cmd()
        .args(["upgrade", "x"])
        .env("LAVA_BUILDOUT_CFG", "v2.toml")
        .assert()
        .success()
        .stdout(predicate::str::contains("release 0002-"));
    let record = read_toml(&env.instance_dir("x").join("instance.toml"));
    assert_eq!(record["source"]["cfg"].as_str(), Some("v2.toml"));
    // Later upgrades follow the recorded override without being told again.
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("up to date"));
    assert_eq!(
        env.current_lock("x")["manifest"]["file"].as_str(),
        Some("v2.toml")
    );

    // A new branch given to upgrade is recorded even when nothing changes.
    let mirror = env.git_repo("mirror-of-manifest");
    mirror.write("v2.toml", &pinned(&tool, "v2"));
    mirror.commit("m");
    env.run(&["upgrade", "x", "--manifest-branch", &mirror.url()])
        .success()
        .stdout(predicate::str::contains("now follows"));
    let record = read_toml(&env.instance_dir("x").join("instance.toml"));
    assert_eq!(
        record["source"]["branch"].as_str(),
        Some(mirror.url().as_str())
    );
}

#[test]
fn upgrade_of_an_unknown_instance_writes_nothing() {
    let env = Env::new();
    env.run(&["upgrade", "ghost"])
        .code(2)
        .stderr(predicate::str::contains("no instance ghost"))
        .stderr(predicate::str::contains("lava-deploy install ghost"));
    assert!(!env.root.exists());
}

#[test]
fn failed_upgrade_keeps_current_and_leaves_no_release() {
    let env = Env::new();
    let tool = component(&env);
    let manifest = env.manifest_repo(&pinned(&tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    let before = std::fs::read_to_string(env.instance_dir("x").join("instance.toml")).unwrap();

    let cases = [
        (
            pinned(&tool, "no-such-tag"),
            "revision \"no-such-tag\" not found",
        ),
        (pinned(&tool, &"0".repeat(40)), "not found"),
        (
            "[components.tool]\ngit = \"/nonexistent/repo\"\nrev = \"v1\"\n".to_owned(),
            "/nonexistent/repo",
        ),
    ];
    for (text, expected) in cases {
        manifest.write("lava.toml", &text);
        manifest.commit("broken");
        let assert = env.run(&["upgrade", "x"]).code(1);
        let stderr = stderr_of(&assert);
        assert!(stderr.contains("component tool"), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert_eq!(env.current("x"), "0001-r1");
        assert_eq!(env.code_entries("x"), ["0001-r1", "current"]);
        let after = std::fs::read_to_string(env.instance_dir("x").join("instance.toml")).unwrap();
        assert_eq!(before, after, "the record is untouched");
    }
}

#[test]
fn unknown_manifest_ref_fails_naming_it() {
    let env = Env::new();
    let manifest = env.manifest_repo("[manifest]\n", None);
    env.run(&[
        "install",
        "x",
        "--manifest-branch",
        &manifest.spec("no-such-branch"),
    ])
    .code(1)
    .stderr(predicate::str::contains("\"no-such-branch\" not found"));
    assert!(!env.instance_dir("x").exists());
    env.run(&["install", "x", "--manifest-branch", "/no/such/dir"])
        .code(2)
        .stderr(predicate::str::contains("/no/such/dir"));
}

#[test]
fn pinned_commits_already_mirrored_are_not_fetched_again() {
    let env = Env::new();
    let tool = component(&env);
    let commit = tool.head();
    let manifest = env.manifest_repo(&pinned(&tool, &commit), None);
    env.install_from("a", &manifest).success();
    // The component's remote disappears: a second install still works from the mirror.
    std::fs::rename(&tool.path, env.path("tool-gone")).unwrap();
    env.install_from("b", &manifest).success();
    assert_eq!(
        env.current_lock("b")["components"]["tool"]["commit"].as_str(),
        Some(commit.as_str())
    );
    // Offline, everything comes from the cache.
    env.run(&[
        "install",
        "c",
        "--offline",
        "--manifest-branch",
        &manifest.url(),
    ])
    .success();
}

#[test]
fn unchanged_trees_are_reused_from_the_current_release() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new();
    let tool = component(&env);
    let other = env.tagged_repo("other", "README", &[("o1", "other\n")]);
    let text = |rev: &str| {
        format!(
            "{}{}",
            pinned(&tool, rev),
            git_component("other", &other, "o1")
        )
    };
    let manifest = env.manifest_repo(&text("v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    manifest.write("lava.toml", &text("v2"));
    manifest.commit("v2");
    manifest.tag("r2");
    env.run(&["upgrade", "x", "-v"])
        .success()
        .stderr(predicate::str::contains(
            "other: reused from the current release",
        ))
        .stderr(predicate::str::contains("tool: reused").not());
    let code = env.instance_dir("x").join("code");
    let inode = |release: &str, file: &str| {
        std::fs::metadata(code.join(release).join("src").join(file))
            .unwrap()
            .ino()
    };
    // Reused, but not shared: releases never share a writable file.
    assert_eq!(
        std::fs::read(code.join("0001-r1/src/other/README")).unwrap(),
        std::fs::read(code.join("0002-r2/src/other/README")).unwrap()
    );
    assert_ne!(
        inode("0001-r1", "other/README"),
        inode("0002-r2", "other/README"),
        "unchanged: reused as a copy"
    );
    assert_ne!(
        inode("0001-r1", "tool/VERSION"),
        inode("0002-r2", "tool/VERSION"),
        "changed: fetched anew"
    );
    // Deleting the old release leaves the new one whole.
    std::fs::remove_dir_all(code.join("0001-r1")).unwrap();
    env.run(&["verify", "x"]).success();
}

#[test]
fn plan_of_an_instance_not_installed_says_what_install_would_build() {
    let env = Env::new();
    let tool = component(&env);
    let manifest = env.manifest_repo(&pinned(&tool, "v1"), Some("2012.07"));
    let url = manifest.url();
    let text = env.run(&["plan", "x", "--manifest-branch", &url]).success();
    let text = stdout_of(&text);
    assert!(text.contains("plan for x (not installed)"), "{text}");
    assert!(text.contains("+ tool: v1 ("), "{text}");
    assert!(
        text.contains("install would build the first release (1 components)"),
        "{text}"
    );
    let json = env
        .run(&["plan", "x", "--json", "--manifest-branch", &url])
        .success();
    let plan: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(plan["installed"], false);
    assert_eq!(plan["changed"], true);
    assert_eq!(plan["current"], serde_json::Value::Null);
    assert_eq!(plan["components"][0]["change"], "added");
    assert_eq!(
        plan["manifest"]["commit"].as_str(),
        Some(manifest.head().as_str())
    );
    assert!(!env.instance_dir("x").exists(), "plan creates nothing");

    // The report of the install says which manifest commit it deployed and
    // what the instance follows now.
    let installed = env
        .run(&["install", "x", "--json", "--manifest-branch", &url])
        .success();
    let report: serde_json::Value = serde_json::from_slice(&installed.get_output().stdout).unwrap();
    assert_eq!(
        report["manifest"]["commit"].as_str(),
        Some(manifest.head().as_str())
    );
    assert_eq!(report["manifest"]["describe"], "2012.07");
    assert_eq!(report["follows"]["branch"].as_str(), Some(url.as_str()));
    let plan = env.run(&["plan", "x", "--json"]).success();
    let plan: serde_json::Value = serde_json::from_slice(&plan.get_output().stdout).unwrap();
    assert_eq!(plan["installed"], true);
    assert_eq!(plan["changed"], false);
}
