use predicates::prelude::*;

use crate::support::{git_component, stdout_of, Env, GitRepo};

fn two_releases(env: &Env) -> GitRepo {
    let tool = env.tagged_repo("tool", "V", &[("v1", "1"), ("v2", "2")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    manifest.write("lava.toml", &git_component("tool", &tool, "v2"));
    manifest.commit("2");
    manifest.tag("r2");
    env.run(&["upgrade", "x"]).success();
    manifest
}

#[test]
fn status_and_list_say_what_is_deployed() {
    let env = Env::new();
    env.run(&["list"])
        .success()
        .stdout(predicate::str::contains("no instances"));
    let manifest = two_releases(&env);
    let assert = env.run(&["status", "x"]).success();
    let out = stdout_of(&assert);
    assert!(out.contains("current:    0002-r2"), "{out}");
    assert!(out.contains(&manifest.url()), "{out}");
    assert!(out.contains("tool") && out.contains("v2 ("), "{out}");

    let json = env.run(&["status", "x", "--json"]).success();
    let value: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(value["current"], "0002-r2");
    assert_eq!(value["releases"], serde_json::json!(["0001-r1", "0002-r2"]));
    assert_eq!(value["components"]["tool"]["rev"], "v2");
    assert_eq!(value["follows"]["branch"], manifest.url());

    let list = env.run(&["list", "--json"]).success();
    let value: serde_json::Value = serde_json::from_slice(&list.get_output().stdout).unwrap();
    assert_eq!(value[0]["name"], "x");
    assert_eq!(value[0]["current"], "0002-r2");
    env.run(&["list"])
        .success()
        .stdout(predicate::str::contains("x  0002-r2"));
    env.run(&["status"])
        .success()
        .stdout(predicate::str::contains("instance x"));
    env.run(&["status", "nope"]).code(2);
}

#[test]
fn rollback_switches_to_the_previous_or_named_release() {
    let env = Env::new();
    two_releases(&env);
    env.run(&["rollback", "x"])
        .success()
        .stdout(predicate::str::contains(
            "release 0001-r1 is current (was 0002-r2)",
        ));
    assert_eq!(env.current("x"), "0001-r1");
    let v = std::fs::read_to_string(env.instance_dir("x").join("code/current/src/tool/V")).unwrap();
    assert_eq!(v, "1");
    env.run(&["rollback", "x"])
        .code(2)
        .stderr(predicate::str::contains("no release before 0001-r1"));
    env.run(&["rollback", "x", "0002-r2"]).success();
    assert_eq!(env.current("x"), "0002-r2");
    env.run(&["rollback", "x", "1"]).success();
    assert_eq!(env.current("x"), "0001-r1");
    env.run(&["rollback", "x", "0009-nope"])
        .code(2)
        .stderr(predicate::str::contains("0001-r1, 0002-r2"));
    // Upgrading after a rollback moves forward again with a new release.
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("0003-r2"));
}
