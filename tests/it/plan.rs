//! `plan` agrees with `upgrade`: for every decision (build, up to date,
//! each refusal) `plan --json` says what `upgrade --json` then does, with
//! the same `changed`, and a refusal with the exit code and the message
//! upgrade exits with.

use serde_json::Value;

use crate::support::{stdout_of, Env, GitRepo};

fn json_of(assert: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&assert.get_output().stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stdout_of(assert)))
}

/// A manifest branch with one path component and `extra` (more sections),
/// committed and tagged `tag`.
fn publish(repo: &GitRepo, content: &str, extra: &str, tag: &str) {
    repo.write("app/VERSION", content);
    repo.write(
        "lava.toml",
        &format!("[components.app]\npath = \"app\"\n\n{extra}\n"),
    );
    repo.commit(tag);
    repo.tag(tag);
}

fn plan(env: &Env, extra: &[&str]) -> Value {
    let mut args = vec!["plan", "x", "--json"];
    args.extend(extra);
    json_of(&env.run(&args).success())
}

/// `upgrade --json` with `extra`, its exit code and its report.
fn upgrade(env: &Env, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["upgrade", "x", "--json"];
    args.extend(extra);
    let run = env.run(&args);
    let code = run.get_output().status.code().unwrap();
    (code, json_of(&run))
}

/// What plan said and upgrade did agree: `changed`, and the refusal's exit
/// code and message against upgrade's.
fn assert_agree(plan: &Value, (code, report): &(i32, Value)) {
    assert_eq!(plan["changed"], report["changed"], "{plan}\n{report}");
    match plan["refusal"].as_object() {
        Some(refusal) => {
            assert_eq!(refusal["exit_code"], *code, "{plan}\n{report}");
            assert_eq!(refusal["error"], report["error"], "{plan}\n{report}");
        }
        None => {
            assert_eq!(*code, 0, "{report}");
            assert_eq!(report["error"], Value::Null);
        }
    }
}

fn installed(env: &Env) -> GitRepo {
    let repo = env.git_repo("manifest");
    publish(&repo, "1\n", "", "r1");
    env.install_from("x", &repo).success();
    repo
}

#[test]
fn plan_and_upgrade_agree_on_building_and_on_up_to_date() {
    let env = Env::new();
    let repo = installed(&env);
    let same = plan(&env, &[]);
    assert_eq!(same["action"], "upgrade");
    assert_eq!(same["up_to_date"], true);
    assert_eq!(same["refusal"], Value::Null);
    assert_agree(&same, &upgrade(&env, &[]));

    publish(&repo, "2\n", "", "r2");
    let build = plan(&env, &[]);
    assert_eq!(build["up_to_date"], false);
    assert_eq!(build["changed"], true);
    let upgraded = upgrade(&env, &[]);
    assert_agree(&build, &upgraded);
    assert_eq!(upgraded.1["release"], "0002-r2");
}

#[test]
fn plan_reports_the_refusal_of_pins_whose_release_failed() {
    let env = Env::new();
    let repo = installed(&env);
    publish(&repo, "2\n", "[hooks]\npost-switch = \"exit 4\"", "r2");
    let (code, failed) = upgrade(&env, &[]);
    assert_eq!((code, &failed["rolled_back"]), (1, &Value::Bool(true)));

    let refused = plan(&env, &[]);
    assert_eq!(refused["refusal"]["kind"], "failed-before", "{refused}");
    assert_eq!(refused["changed"], false, "{refused}");
    assert_eq!(refused["up_to_date"], false);
    let error = refused["refusal"]["error"].as_str().unwrap();
    assert!(
        error.contains("release 0002-r2 had exactly these pins and failed"),
        "{error}"
    );
    assert_agree(&refused, &upgrade(&env, &[]));
    let text = stdout_of(&env.run(&["plan", "x"]).success());
    assert!(
        text.contains("upgrade would refuse (exit 1): release 0002-r2 had exactly these pins"),
        "{text}"
    );

    // Asked to follow another spelling of the branch, the refusing upgrade
    // still records it: a change, in the plan too.
    let tagged = format!("{}#r2", repo.url());
    let moved = plan(&env, &["--manifest-branch", &tagged]);
    assert_eq!(moved["source_changed"], true);
    assert_eq!(moved["changed"], true, "{moved}");
    assert_agree(&moved, &upgrade(&env, &["--manifest-branch", &tagged]));

    // --retry-failed: no refusal, a build (that fails its hook again).
    let retry = plan(&env, &["--retry-failed"]);
    assert_eq!(retry["refusal"], Value::Null, "{retry}");
    assert_eq!(retry["changed"], true);
    let (code, report) = upgrade(&env, &["--retry-failed", "--no-hooks"]);
    assert_eq!((code, &report["changed"]), (0, &Value::Bool(true)));
    assert_eq!(report["release"], "0003-r2");
}

#[test]
fn plan_reports_the_refusal_of_a_missing_required_secret() {
    let env = Env::new();
    let repo = installed(&env);
    publish(&repo, "2\n", "[secrets]\nrequired = [\"TOKEN\"]", "r2");
    let refused = plan(&env, &[]);
    assert_eq!(refused["refusal"]["kind"], "missing-secrets", "{refused}");
    assert_eq!(refused["refusal"]["exit_code"], 2);
    assert_eq!(refused["changed"], false);
    assert_eq!(refused["missing_secrets"], serde_json::json!(["TOKEN"]));
    // The plan still shows what the release would change.
    assert_eq!(refused["components"][0]["change"], "changed", "{refused}");
    let upgraded = upgrade(&env, &[]);
    assert_agree(&refused, &upgraded);
    assert_eq!(env.current("x"), "0001-r1");

    // A first install refused alike.
    let fresh = Env::new();
    let args = ["--manifest-branch", &repo.url()];
    let planned = json_of(
        &fresh
            .run(&[&["plan", "x", "--json"], &args[..]].concat())
            .success(),
    );
    assert_eq!(planned["action"], "install");
    assert_eq!(planned["refusal"]["exit_code"], 2, "{planned}");
    let install = fresh.run(&[&["install", "x", "--json"], &args[..]].concat());
    let code = install.get_output().status.code().unwrap();
    assert_agree(&planned, &(code, json_of(&install)));
}

/// A change whose pin reads the same names what changed, and "still
/// overridden" appears only where an override stays (it used to label a
/// git component whose only change is `install = "python"` so).
#[test]
fn a_change_that_keeps_the_pin_says_what_changed() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "VERSION", &[("v1", "1\n")]);
    let component = crate::support::git_component("tool", &tool, "v1");
    let manifest = env.manifest_repo(&component, Some("r1"));
    env.install_from("x", &manifest).success();
    manifest.write("lava.toml", &format!("{component}install = \"python\"\n"));
    manifest.commit("installed");

    let text = stdout_of(&env.run(&["plan", "x"]).success());
    let commit = tool.git(&["rev-parse", "v1^{commit}"]);
    let pin = format!("v1 ({:.12})", commit);
    // The version a python build of the tree is given comes with it (the
    // tag's, so the pin does not repeat it).
    assert!(
        text.contains(&format!(
            "~ tool: {pin} -> {pin} (install, version changed)"
        )),
        "{text}"
    );
    assert!(!text.contains("overridden"), "{text}");
    let json = plan(&env, &[]);
    let change = &json["components"][0];
    assert_eq!(change["old"], pin.as_str(), "{json}");
    assert_eq!(
        change["new"],
        format!("{pin} (install, version changed)"),
        "{json}"
    );
    assert_eq!(
        change["keys"],
        serde_json::json!(["install", "version"]),
        "{json}"
    );
}
