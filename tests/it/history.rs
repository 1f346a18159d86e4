//! The deploy history (`history.jsonl`, `history NAME`), the health of
//! `status`/`list`, and when output is colored.

use serde_json::Value;

use crate::support::{git_component, stderr_of, stdout_of, Env, GitRepo};

/// The command with a known user: `sudo_user` when given, `USER=bob` always.
fn run_as(env: &Env, sudo_user: Option<&str>, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = env.cmd();
    cmd.env("USER", "bob").env_remove("SUDO_USER");
    if let Some(user) = sudo_user {
        cmd.env("SUDO_USER", user);
    }
    cmd.args(args).assert()
}

fn history(env: &Env, name: &str) -> Vec<Value> {
    let out = env.run(&["history", name, "--json"]).success();
    serde_json::from_str(&stdout_of(&out)).expect("a JSON array")
}

fn field<'a>(entries: &'a [Value], key: &str) -> Vec<&'a Value> {
    entries.iter().map(|e| &e[key]).collect()
}

fn lines_of(env: &Env, name: &str) -> Vec<String> {
    std::fs::read_to_string(env.instance_dir(name).join("history.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn publish(manifest: &GitRepo, text: &str, tag: &str) {
    manifest.write("lava.toml", text);
    manifest.commit(tag);
    manifest.tag(tag);
}

#[test]
fn every_command_that_changes_or_fails_appends_one_line() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1"), ("v2", "2")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    let url = manifest.url();
    run_as(&env, None, &["install", "x", "--manifest-branch", &url]).success();
    // Nothing to do: no line.
    run_as(&env, None, &["upgrade", "x"]).success();
    assert_eq!(lines_of(&env, "x").len(), 1);

    publish(&manifest, &git_component("tool", &tool, "v2"), "r2");
    run_as(&env, Some("alice"), &["upgrade", "x"]).success();
    let r2_commit = manifest.head();
    run_as(&env, None, &["rebuild", "x"]).success();
    run_as(&env, None, &["rollback", "x"]).success();
    let checkout = env.path("mine/tool");
    std::fs::create_dir_all(checkout.parent().unwrap()).unwrap();
    tool.clone_to(&checkout);
    run_as(&env, None, &["develop", "x", checkout.to_str().unwrap()]).success();
    run_as(&env, None, &["undevelop", "x", "tool"]).success();
    // A refusal (exit 2) that changed nothing: no line.
    run_as(&env, None, &["rollback", "x", "0009-nope"]).code(2);
    // A build hook that fails: exit 1, nothing switched, one line.
    publish(
        &manifest,
        &format!(
            "{}\n[hooks]\nbuild = 'echo broken >&2; exit 3'\n",
            git_component("tool", &tool, "v1")
        ),
        "r3",
    );
    run_as(&env, None, &["upgrade", "x"]).code(1);
    run_as(&env, None, &["prune", "x", "--keep", "1"]).success();

    let entries = history(&env, "x");
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "install",
            "upgrade",
            "rebuild",
            "rollback",
            "develop",
            "undevelop",
            "upgrade",
            "prune"
        ]
    );
    let releases: Vec<(Value, Value)> = entries
        .iter()
        .map(|e| (e["from"].clone(), e["to"].clone()))
        .collect();
    let r = |s: &str| Value::from(s);
    assert_eq!(
        releases,
        [
            (Value::Null, r("0001-r1")),
            (r("0001-r1"), r("0002-r2")),
            (r("0002-r2"), r("0003-r2")),
            (r("0003-r2"), r("0002-r2")),
            (r("0002-r2"), r("0004-r2")),
            (r("0004-r2"), r("0005-r2")),
            (r("0005-r2"), r("0005-r2")),
            (r("0005-r2"), r("0005-r2")),
        ]
    );
    let outcomes: Vec<&str> = entries
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["ok", "ok", "ok", "ok", "ok", "ok", "failed", "ok"]
    );
    // SUDO_USER before USER.
    assert_eq!(entries[0]["user"], "bob");
    assert_eq!(entries[1]["user"], "alice");
    assert_eq!(entries[1]["commit"], r2_commit.as_str());
    let command: Vec<&str> = entries[1]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(command[0].ends_with("lava-deploy"), "{command:?}");
    assert_eq!(command[command.len() - 2..], ["upgrade", "x"]);
    assert!(!entries[0]["host"].as_str().unwrap().is_empty());
    assert!(field(&entries, "seconds")
        .iter()
        .all(|s| s.as_f64().unwrap() >= 0.0));
    let error = entries[6]["error"].as_str().unwrap();
    assert!(error.contains("build hook"), "{error}");
    assert_eq!(
        entries[7]["removed"],
        serde_json::json!(["0001-r1", "0002-r2", "0003-r2"])
    );
    assert!(entries[0].get("removed").is_none());
    // Every line is one JSON object; the file is only ever appended to.
    assert_eq!(lines_of(&env, "x").len(), 8);

    // Text: one line each (the error under its line); --limit keeps the last.
    let text = stdout_of(&env.run(&["history", "x"]).success());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 9, "{text}");
    assert!(
        lines[0].contains("  bob@")
            && lines[0].contains("install")
            && lines[0].contains("0001-r1  ok"),
        "{text}"
    );
    assert!(
        lines[1].contains("alice@") && lines[1].contains("0001-r1 → 0002-r2  ok"),
        "{text}"
    );
    assert!(
        lines[6].contains("upgrade") && lines[6].contains("0005-r2  failed  "),
        "{text}"
    );
    assert!(
        lines[7].starts_with("    ") && lines[7].contains("build hook"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no color off a terminal");
    let last_two = env
        .run(&["history", "x", "--json", "--limit", "2"])
        .success();
    let last_two: Vec<Value> = serde_json::from_str(&stdout_of(&last_two)).unwrap();
    assert_eq!(last_two, entries[6..]);
    env.run(&["history", "nope"]).code(2);
}

#[test]
fn remove_keeps_the_history_beside_the_roots_records() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    let out = stdout_of(&env.run(&["remove", "x", "--yes"]).success());
    let kept = out
        .lines()
        .find_map(|l| l.strip_prefix("its history is kept in "))
        .unwrap_or_else(|| panic!("{out}"));
    let kept = std::path::Path::new(kept);
    assert_eq!(kept.parent().unwrap(), env.root.join("removed"));
    assert!(!env.instance_dir("x").exists());
    let gone = env.run(&["history", "x"]).code(2);
    assert!(
        stderr_of(&gone).contains(&format!(
            "the history of the instance removed last is {}",
            kept.display()
        )),
        "{gone:?}"
    );
    let text = std::fs::read_to_string(kept).unwrap();
    let entries: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(field(&entries, "action"), ["install", "remove"]);
    assert_eq!(entries[1]["from"], "0001-r1");
    assert_eq!(entries[1]["to"], Value::Null);
    // A new instance of that name starts a history of its own.
    env.install_from("x", &manifest).success();
    assert_eq!(field(&history(&env, "x"), "action"), ["install"]);

    // A stop hook that fails: nothing removed, a failed line.
    publish(
        &manifest,
        &format!(
            "{}\n[hooks]\nstop = 'exit 3'\n",
            git_component("tool", &tool, "v1")
        ),
        "r2",
    );
    env.run(&["upgrade", "x"]).success();
    env.run(&["remove", "x", "--yes"]).code(1);
    let entries = history(&env, "x");
    assert_eq!(field(&entries, "action"), ["install", "upgrade", "remove"]);
    assert_eq!(entries[2]["outcome"], "failed");
    assert_eq!(entries[2]["to"], "0002-r2");
    assert!(entries[2]["error"]
        .as_str()
        .unwrap()
        .contains("not removed"));
}

#[test]
fn a_crash_while_a_line_is_written_leaves_a_readable_history() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1"), ("v2", "2")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    publish(&manifest, &git_component("tool", &tool, "v2"), "r2");
    // Killed with half of the upgrade's line written.
    let mut child = env.spawn_paused("append", &["upgrade", "x"]);
    child.kill().unwrap();
    child.wait().unwrap();
    let file = std::fs::read_to_string(env.instance_dir("x").join("history.jsonl")).unwrap();
    assert!(!file.ends_with('\n'), "the test left half a line: {file}");
    assert_eq!(env.current("x"), "0002-r2");

    let read = env.run(&["history", "x", "--json"]).success();
    let entries: Vec<Value> = serde_json::from_str(&stdout_of(&read)).unwrap();
    assert_eq!(field(&entries, "action"), ["install"]);
    let warning = stderr_of(&read);
    assert!(
        warning.contains("cut short") && warning.contains("line 2"),
        "{warning}"
    );

    // The next line starts on a line of its own: only the torn one is lost.
    env.run(&["rollback", "x"]).success();
    let read = env.run(&["history", "x", "--json"]).success();
    let entries: Vec<Value> = serde_json::from_str(&stdout_of(&read)).unwrap();
    assert_eq!(field(&entries, "action"), ["install", "rollback"]);
    assert!(stderr_of(&read).contains("line 2 is skipped"));
    let lines = lines_of(&env, "x");
    assert_eq!(lines.len(), 3);
    assert!(serde_json::from_str::<Value>(&lines[2]).is_ok());
}

/// A manifest whose check-url answers like LAVA's version endpoint.
fn checked_instance(env: &Env, server: &crate::support::http::HttpServer) -> GitRepo {
    let url = server.put("/api/version", br#"{"version": "2026.07"}"#.to_vec());
    let tool = env.tagged_repo("tool", "V", &[("v1", "1")]);
    let text = format!(
        "{}\n[hooks]\ncheck-url = \"{url}\"\n",
        git_component("tool", &tool, "v1")
    );
    let manifest = env.manifest_repo(&text, Some("r1"));
    env.install_from("x", &manifest).success();
    manifest
}

#[test]
fn status_and_list_show_health_the_last_check_and_the_version_answering() {
    let env = Env::new();
    let server = crate::support::http::HttpServer::start();
    checked_instance(&env, &server);
    let out = stdout_of(&env.run(&["status", "x"]).success());
    for expected in [
        "  since:      20",
        "  health:     ok\n",
        "  last check: passed in ",
        "(install at 20",
        "  answering:  version 2026.07 (http://",
        "  last:       20",
    ] {
        assert!(out.contains(expected), "{expected:?} not in:\n{out}");
    }
    let json = stdout_of(&env.run(&["status", "x", "--json"]).success());
    let value: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["health"], "ok");
    assert_eq!(value["answer"]["version"], "2026.07");
    assert_eq!(value["answer"]["ok"], true);
    assert_eq!(value["last_check"]["ok"], true);
    assert_eq!(value["last_check"]["action"], "install");
    assert_eq!(value["last"]["action"], "install");
    assert!(value["since"].as_str().unwrap().ends_with('Z'));

    let list = stdout_of(&env.run(&["list"]).success());
    assert!(
        list.starts_with("x  0001-r1                   ok  "),
        "{list}"
    );
    let list: Value =
        serde_json::from_str(&stdout_of(&env.run(&["list", "--json"]).success())).unwrap();
    assert_eq!(list[0]["health"], "ok");
    assert!(list[0].get("answer").is_none(), "list asks nothing");

    // Not answering: said, and quickly.
    drop(server);
    let started = std::time::Instant::now();
    let out = stdout_of(&env.run(&["status", "x"]).success());
    assert!(out.contains("  answering:  no answer: "), "{out}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn interrupted_and_stopped_instances_say_so_in_list() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1"), ("v2", "2")]);
    let manifest = env.manifest_repo(
        &format!(
            "{}\n[hooks]\nstop = 'true'\npost-switch = 'true'\n",
            git_component("tool", &tool, "v1")
        ),
        Some("r1"),
    );
    env.install_from("x", &manifest).success();
    env.run(&["stop", "x"]).success();
    let list = stdout_of(&env.run(&["list"]).success());
    assert!(list.contains("  stopped  "), "{list}");
    assert_eq!(field(&history(&env, "x"), "action"), ["install", "stop"]);
    env.run(&["start", "x"]).success();
    assert!(stdout_of(&env.run(&["list"]).success()).contains("  ok  "));

    publish(
        &manifest,
        &format!(
            "{}\n[hooks]\nstop = 'true'\npost-switch = 'true'\n",
            git_component("tool", &tool, "v2")
        ),
        "r2",
    );
    let mut child = env.spawn_paused("after-switch", &["upgrade", "x"]);
    child.kill().unwrap();
    child.wait().unwrap();
    let list = stdout_of(&env.run(&["list"]).success());
    assert!(list.contains("  INTERRUPTED  "), "{list}");
    let status = stdout_of(&env.run(&["status", "x"]).success());
    assert!(status.contains("  health:     INTERRUPTED"), "{status}");
}

#[test]
fn color_only_on_a_terminal_or_when_forced_and_never_with_no_color() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    let list = |vars: &[(&str, &str)]| {
        let mut cmd = env.cmd();
        for (key, value) in vars {
            cmd.env(key, value);
        }
        stdout_of(&cmd.arg("list").assert().success())
    };
    let green_ok = "\x1b[32mok\x1b[0m";
    assert!(!list(&[]).contains('\x1b'), "not a terminal");
    assert!(list(&[("CLICOLOR_FORCE", "1")]).contains(green_ok));
    assert!(!list(&[("CLICOLOR_FORCE", "0")]).contains('\x1b'));
    assert!(!list(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\x1b'));

    // On a real terminal (a pty by script(1)): color, unless NO_COLOR.
    let script = std::process::Command::new("script")
        .arg("--version")
        .output();
    if !crate::support::require(
        script
            .is_err()
            .then(|| "script(1) (util-linux) is not installed".to_owned()),
    ) {
        return;
    }
    let on_pty = |no_color: bool| {
        let binary = assert_cmd::cargo::cargo_bin("lava-deploy");
        let line = format!("{} --root {} list", binary.display(), env.root.display());
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .env_remove("CLICOLOR_FORCE")
            .env_remove("NO_COLOR")
            .env_remove("LAVA_ROOT");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(on_pty(false).contains(green_ok), "{}", on_pty(false));
    let plain = on_pty(true);
    assert!(plain.contains("ok") && !plain.contains('\x1b'), "{plain}");
}

#[test]
fn an_interrupted_command_says_so_in_its_line() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1"), ("v2", "2")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    publish(&manifest, &git_component("tool", &tool, "v2"), "r2");
    let mut child = env.spawn_paused("before-switch", &["upgrade", "x"]);
    // SAFETY: kill(2) of our own child by pid.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let entries = history(&env, "x");
    assert_eq!(field(&entries, "action"), ["install", "upgrade"]);
    let last = &entries[1];
    assert_eq!(last["outcome"], "interrupted");
    assert_eq!(last["error"], "interrupted by SIGINT");
    assert_eq!(last["from"], "0001-r1");
    assert_eq!(last["to"], "0001-r1");
    // Killed after it marked the switch pending: status says so too.
    let list = stdout_of(&env.run(&["list"]).success());
    assert!(list.contains("  INTERRUPTED  "), "{list}");
    // The next upgrade goes on as usual and has its own line.
    env.run(&["upgrade", "x"]).success();
    assert_eq!(history(&env, "x").len(), 3);
}

#[test]
fn the_line_is_written_under_the_instance_lock() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1"), ("v2", "2")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    publish(&manifest, &git_component("tool", &tool, "v2"), "r2");
    let go_on = env.path("go-on");
    let mut child = env.spawn_paused_with("append", &["upgrade", "x"], |cmd| {
        cmd.env("LAVA_FAILPOINT_RELEASE", &go_on);
    });
    // Halfway through its line, the upgrade still holds the lock.
    let busy = env.run(&["rollback", "x"]).code(3);
    assert!(stderr_of(&busy).contains("running `upgrade`"), "{busy:?}");
    std::fs::write(&go_on, "").unwrap();
    assert!(child.wait().unwrap().success());
    env.run(&["rollback", "x"]).success();
    let entries = history(&env, "x");
    assert_eq!(
        field(&entries, "action"),
        ["install", "upgrade", "rollback"]
    );
    assert_eq!(lines_of(&env, "x").len(), 3);
}
