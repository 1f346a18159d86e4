use std::os::unix::fs::PermissionsExt;

use predicates::prelude::*;

use crate::support::{git_component, list_dir, read_toml, stderr_of, Env};

/// A component repo with an executable script, tagged v1.0.
fn component(env: &Env) -> crate::support::GitRepo {
    let repo = env.git_repo("tool");
    repo.write("README", "tool v1\n")
        .write("bin/tool", "#!/bin/sh\necho tool\n");
    std::fs::set_permissions(
        repo.path.join("bin/tool"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    repo.commit("v1");
    repo.tag("v1.0");
    repo
}

fn manifest_for(tool: &crate::support::GitRepo) -> String {
    format!(
        r#"[manifest]
description = "test deployment"

[components.tool]
git = "{}"
rev = "v1.0"

[components.recipes]
path = "recipes"
"#,
        tool.url()
    )
}

#[test]
fn install_builds_the_layout_and_records_pins() {
    let env = Env::new();
    let tool = component(&env);
    let tool_commit = tool.head();
    let manifest = env.git_repo("manifest");
    manifest
        .write("lava.toml", &manifest_for(&tool))
        .write("recipes/recipe.txt", "recipe\n");
    let manifest_commit = manifest.commit("m");
    manifest.tag("2012.07");

    env.run(&[
        "install",
        "testinstance",
        "--manifest-branch",
        &manifest.spec("2012.07"),
    ])
    .success()
    .stdout(predicate::str::contains(
        "installed testinstance: release 0001-2012.07",
    ));

    let dir = env.instance_dir("testinstance");
    assert_eq!(env.current("testinstance"), "0001-2012.07");
    assert_eq!(
        std::fs::read_link(dir.join("bin")).unwrap().to_str(),
        Some("code/current/bin")
    );
    let release = dir.join("code/0001-2012.07");
    assert_eq!(
        std::fs::read_link(release.join("local")).unwrap().to_str(),
        Some("../../local")
    );
    assert!(dir.join("local").is_dir());
    assert!(release.join("bin").is_dir());
    assert_eq!(
        std::fs::read_to_string(release.join("src/tool/README")).unwrap(),
        "tool v1\n"
    );
    let mode = std::fs::metadata(release.join("src/tool/bin/tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "executable bit kept");
    assert_eq!(
        std::fs::read_to_string(release.join("src/recipes/recipe.txt")).unwrap(),
        "recipe\n"
    );
    assert!(
        !release.join("src/tool/.git").exists(),
        "an export, not a clone"
    );

    let lock = env.current_lock("testinstance");
    let tool_lock = lock["components"]["tool"].as_table().unwrap();
    assert_eq!(tool_lock["kind"].as_str(), Some("git"));
    assert_eq!(tool_lock["rev"].as_str(), Some("v1.0"));
    assert_eq!(tool_lock["commit"].as_str(), Some(tool_commit.as_str()));
    assert_eq!(
        lock["manifest"]["commit"].as_str(),
        Some(manifest_commit.as_str())
    );
    assert_eq!(lock["manifest"]["describe"].as_str(), Some("2012.07"));
    assert_eq!(
        lock["manifest"]["source"].as_str(),
        Some(manifest.spec("2012.07").as_str())
    );
    assert!(lock["components"]["recipes"]["tree"]
        .as_str()
        .unwrap()
        .starts_with("git:"));

    let record = read_toml(&dir.join("instance.toml"));
    assert_eq!(
        record["source"]["branch"].as_str(),
        Some(manifest.spec("2012.07").as_str())
    );
    assert_eq!(record["release"].as_array().unwrap().len(), 1);

    // The cache holds one versioned mirror per URL.
    let mirrors = list_dir(&env.root.join("cache/git-v2/db"));
    assert!(
        mirrors
            .iter()
            .any(|m| m.starts_with("tool-") && !m.ends_with(".lock")),
        "{mirrors:?}"
    );
    assert!(
        mirrors.iter().any(|m| m.starts_with("manifest-")),
        "{mirrors:?}"
    );
}

#[test]
fn refs_select_branch_tag_commit_or_default_branch() {
    let env = Env::new();
    let tool = component(&env);
    let manifest = env.git_repo("manifest");
    let text = |description: &str| {
        format!("[manifest]\ndescription = \"{description}\"\n[components.tool]\ngit = \"{}\"\nrev = \"v1.0\"\n", tool.url())
    };
    manifest.write("lava.toml", &text("on main"));
    let first = manifest.commit("first");
    manifest.git(&["checkout", "-q", "-b", "stable"]);
    manifest.write("lava.toml", &text("on stable"));
    manifest.commit("stable");
    manifest.checkout("main");

    let cases = [
        ("branch", manifest.spec("stable"), "on stable"),
        ("commit", manifest.spec(&first), "on main"),
        ("default", manifest.url(), "on main"),
        (
            "file-url",
            format!("{}#stable", manifest.file_url()),
            "on stable",
        ),
    ];
    for (name, spec, description) in cases {
        env.run(&["install", name, "--manifest-branch", &spec])
            .success();
        let lock = env.current_lock(name);
        assert_eq!(
            lock["manifest"]["description"].as_str(),
            Some(description),
            "{name}"
        );
    }
    // Without tags, the release is named after the commit date and short commit.
    assert_eq!(
        env.current("default"),
        format!("0001-20120724-{}", &first[..7])
    );
}

#[test]
fn cfg_selection_flags_win_over_environment() {
    let env = Env::new();
    let manifest = env.git_repo("manifest");
    manifest
        .write("lava.toml", "[manifest]\ndescription = \"default\"\n")
        .write("other.toml", "[manifest]\ndescription = \"other\"\n")
        .write("third.toml", "[manifest]\ndescription = \"third\"\n");
    manifest.commit("m");

    env.cmd()
        .args(["install", "a"])
        .env("LAVA_MANIFEST_BRANCH", manifest.url())
        .env("LAVA_BUILDOUT_CFG", "other.toml")
        .assert()
        .success();
    assert_eq!(
        env.current_lock("a")["manifest"]["file"].as_str(),
        Some("other.toml")
    );

    env.cmd()
        .args(["install", "b", "--cfg", "third.toml"])
        .env("LAVA_MANIFEST_BRANCH", manifest.url())
        .env("LAVA_BUILDOUT_CFG", "other.toml")
        .assert()
        .success();
    assert_eq!(
        env.current_lock("b")["manifest"]["file"].as_str(),
        Some("third.toml")
    );
    let record = read_toml(&env.instance_dir("b").join("instance.toml"));
    assert_eq!(record["source"]["cfg"].as_str(), Some("third.toml"));
}

#[test]
fn missing_cfg_names_the_file_and_lists_the_branch() {
    let env = Env::new();
    let manifest = env.git_repo("manifest");
    manifest
        .write("production.toml", "")
        .write("sub/buildout-dev.cfg", "")
        .write("README", "");
    manifest.commit("m");
    env.run(&[
        "install",
        "x",
        "--manifest-branch",
        &manifest.url(),
        "--cfg",
        "nope.toml",
    ])
    .code(2)
    .stderr(predicate::str::contains("nope.toml not found"))
    .stderr(predicate::str::contains(
        "production.toml, sub/buildout-dev.cfg",
    ));
    assert!(!env.instance_dir("x").exists(), "nothing left behind");
    env.install_from("x", &manifest)
        .code(2)
        .stderr(predicate::str::contains(
            "lava.toml or buildout.cfg not found",
        ));
}

#[test]
fn invalid_names_are_refused_before_anything_is_written() {
    let env = Env::new();
    for bad in ["../x", "a/b", "", ".hidden", "-x", "a b"] {
        env.cmd()
            .args(["install", "--", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("invalid instance name"));
    }
    assert!(!env.root.exists(), "the root was not even created");
}

#[test]
fn unwritable_root_suggests_another() {
    let env = Env::new();
    let file = env.path("a-file");
    std::fs::write(&file, "").unwrap();
    let mut cmd = env.cmd();
    cmd.args(["install", "x"])
        .arg("--root")
        .arg(file.join("root"));
    cmd.assert()
        .code(1)
        .stderr(predicate::str::contains("not writable"))
        .stderr(predicate::str::contains("--root"))
        .stderr(predicate::str::contains("LAVA_ROOT"));
}

#[test]
fn install_over_a_healthy_instance_is_refused() {
    let env = Env::new();
    let manifest = env.manifest_repo("[manifest]\n", Some("v1"));
    env.install_from("x", &manifest).success();
    env.install_from("x", &manifest)
        .code(2)
        .stderr(predicate::str::contains("already exists"))
        .stderr(predicate::str::contains("lava-deploy upgrade x"));
    assert_eq!(env.code_entries("x"), ["0001-v1", "current"]);
}

#[test]
fn failed_install_leaves_nothing_and_can_be_run_again() {
    let env = Env::new();
    let tool = component(&env);
    let manifest = env.git_repo("manifest");
    manifest.write("lava.toml", &git_component("tool", &tool, "v9.9"));
    manifest.commit("bad rev");
    let assert = env.install_from("x", &manifest).code(1);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("component tool"), "{stderr}");
    assert!(stderr.contains("\"v9.9\" not found"), "{stderr}");
    assert!(!env.instance_dir("x").exists(), "nothing left behind");

    manifest
        .write("lava.toml", &manifest_for(&tool))
        .write("recipes/r", "r");
    manifest.commit("fixed");
    env.install_from("x", &manifest).success();
}

#[test]
fn install_resumes_after_a_killed_run() {
    let env = Env::new();
    let manifest = env.manifest_repo("[manifest]\n", Some("v1"));
    // What a run killed in the middle of building leaves: the record and a temp release.
    let dir = env.instance_dir("x");
    std::fs::create_dir_all(dir.join("code/.tmp-0001-v1/src/half")).unwrap();
    std::fs::write(
        dir.join("instance.toml"),
        format!("name = \"x\"\n[source]\nbranch = \"{}\"\n", manifest.url()),
    )
    .unwrap();
    env.run(&["status", "x"])
        .success()
        .stdout(predicate::str::contains("install did not finish"));
    // The recorded source is used when none is given again.
    env.run(&["install", "x"]).success();
    assert_eq!(env.code_entries("x"), ["0002-v1", "current"]);
    assert_eq!(env.current("x"), "0002-v1");
}

#[test]
fn busy_instance_exits_3_naming_the_holder() {
    let env = Env::new();
    let manifest = env.manifest_repo("[manifest]\n", Some("v1"));
    env.install_from("x", &manifest).success();
    // Instance locks live under the root's locks/, where nothing deletes them.
    let lock_path = env.root.join("locks/x.lock");
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();
    std::fs::write(
        &lock_path,
        "pid 4242 running `upgrade` since 2026-11-24T10:00:00Z",
    )
    .unwrap();
    env.run(&["upgrade", "x"])
        .code(3)
        .stderr(predicate::str::contains(
            "instance x is busy: pid 4242 running `upgrade`",
        ));
    env.run(&["status", "x"]).success();
    drop(lock);
    env.run(&["upgrade", "x"]).success();
}
