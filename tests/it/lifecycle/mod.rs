//! The service lifecycle with a small real service: a python HTTP server
//! in a git component, started by `post-switch`, checked by `check-url`.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::support::{stderr_of, stdout_of, Env, GitRepo};

mod history;
mod stop;

const SERVER: &str = r#"import http.server, pathlib, sys
here = pathlib.Path(__file__).parent
version = (here / "VERSION").read_text().strip()
healthy = (here / "HEALTHY").read_text().strip() == "yes"
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path != "/health" or healthy
        self.send_response(200 if ok else 500)
        self.end_headers()
        self.wfile.write(version.encode() if ok else b"sick")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"#;

/// A world with the service repository, a manifest branch and a port.
struct Lab {
    env: Env,
    svc: GitRepo,
    manifest: GitRepo,
    port: u16,
}

impl Drop for Lab {
    fn drop(&mut self) {
        // The service outlives lava-deploy by design; not the test.
        let pid = self.env.instance_dir("x").join("shared/run/pid");
        if let Ok(pid) = std::fs::read_to_string(pid) {
            let _ = std::process::Command::new("kill")
                .arg(pid.trim())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

impl Lab {
    fn new() -> Lab {
        let env = Env::new();
        let svc = env.git_repo("svc");
        for (tag, healthy) in [("v1", "yes"), ("v2", "yes"), ("v3-sick", "no")] {
            svc.write("serve.py", SERVER);
            svc.write("VERSION", &format!("{tag}\n"));
            svc.write("HEALTHY", &format!("{healthy}\n"));
            svc.commit(tag);
            svc.tag(tag);
        }
        let manifest = env.git_repo("manifest");
        let port = crate::support::free_port();
        let lab = Lab {
            env,
            svc,
            manifest,
            port,
        };
        lab.publish("v1", "", "r1");
        lab
    }

    /// The manifest: `svc` at `rev`, the standard hooks with `extra`
    /// `key = value` lines of `[hooks]` replacing or adding to them,
    /// committed and tagged `tag`.
    fn publish(&self, rev: &str, extra: &str, tag: &str) {
        self.publish_with_environment(rev, extra, "", tag)
    }

    /// `publish` with `environment` lines added to `[environment]`.
    fn publish_with_environment(&self, rev: &str, extra: &str, environment: &str, tag: &str) {
        let events = "\"$LAVA_SHARED_DIR/var/log/events\"";
        let port = self.port;
        let mut hooks: Vec<(String, String)> = [
            ("setup", format!("['echo setup $LAVA_RELEASE >> {events}', 'test -d \"$LAVA_SHARED_DIR/etc\" && echo secret > \"$LAVA_SHARED_DIR/etc/secret\"']")),
            ("build", format!("'env | grep -E \"^(LAVA_|DATA_DIR|GREETING|PATH)\" | sort > build-env; echo build $LAVA_RELEASE >> {events}'")),
            ("pre-switch", format!("'echo pre-switch $LAVA_RELEASE prev=$LAVA_PREVIOUS_RELEASE >> {events}'")),
            ("post-switch", format!("['echo post-switch $LAVA_RELEASE >> {events}', 'if [ -f \"$LAVA_SHARED_DIR/run/pid\" ]; then kill $(cat \"$LAVA_SHARED_DIR/run/pid\") 2>/dev/null || true; sleep 0.3; fi; nohup python3 src/svc/serve.py {port} >/dev/null 2>&1 & echo $! > \"$LAVA_SHARED_DIR/run/pid\"']")),
            ("check-url", format!("\"http://127.0.0.1:{port}/health\"")),
            ("rollback", format!("'echo rollback $LAVA_RELEASE from $LAVA_PREVIOUS_RELEASE >> {events}'")),
            ("check-timeout", "\"10s\"".to_owned()),
            ("check-interval", "\"100ms\"".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for line in extra.lines().filter(|l| !l.trim().is_empty()) {
            let (key, value) = line.split_once(" = ").expect("key = value");
            match hooks.iter_mut().find(|(k, _)| k == key) {
                Some(entry) => entry.1 = value.to_owned(),
                None => hooks.push((key.to_owned(), value.to_owned())),
            }
        }
        let hooks: String = hooks.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        let text = format!(
            r#"[components.svc]
git = "{url}"
rev = "{rev}"

[shared]
dirs = ["etc", "var/log", "var/lib", "run"]
files = ["etc/settings.ini"]

[environment]
DATA_DIR = "${{LAVA_SHARED_DIR}}/var/lib"
GREETING = "hello ${{LAVA_INSTANCE}}"
{environment}

[hooks]
{hooks}"#,
            url = self.svc.url(),
        );
        self.manifest.write("lava.toml", &text);
        self.manifest.commit(tag);
        self.manifest.tag(tag);
    }

    fn instance(&self) -> PathBuf {
        self.env.instance_dir("x")
    }

    fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.instance().join("shared/var/log/events"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// What the running service answers on `/`.
    fn serving(&self) -> String {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        use std::io::{Read, Write};
        write!(stream, "GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer.rsplit("\r\n\r\n").next().unwrap().trim().to_owned()
    }

    fn install(&self) -> assert_cmd::assert::Assert {
        self.env.install_from("x", &self.manifest)
    }

    fn record(&self) -> toml::Table {
        crate::support::read_toml(&self.instance().join("instance.toml"))
    }
}

fn json(assert: &assert_cmd::assert::Assert) -> serde_json::Value {
    serde_json::from_str(&stdout_of(assert)).expect("one JSON object on stdout")
}

fn log_of(lab: &Lab, release: &str) -> String {
    std::fs::read_to_string(lab.instance().join("logs").join(format!("{release}.log")))
        .unwrap_or_default()
}

#[test]
fn hooks_run_in_order_with_their_variables_and_shared_state_survives() {
    let lab = Lab::new();
    lab.install().success();
    assert_eq!(lab.env.current("x"), "0001-r1");
    assert_eq!(
        lab.events(),
        [
            "setup 0001-r1",
            "build 0001-r1",
            "pre-switch 0001-r1 prev=",
            "post-switch 0001-r1"
        ]
    );
    assert_eq!(lab.serving(), "v1");
    let release = lab.instance().join("code/0001-r1");
    // Hooks saw the release's final path, also while it was being built.
    let build_env = std::fs::read_to_string(release.join("build-env")).unwrap();
    let shared = lab.instance().join("shared");
    for line in [
        format!("LAVA_RELEASE_DIR={}", release.display()),
        "LAVA_INSTANCE=x".to_owned(),
        format!("LAVA_INSTANCE_DIR={}", lab.instance().display()),
        format!("LAVA_SHARED_DIR={}", shared.display()),
        "LAVA_PHASE=build".to_owned(),
        "LAVA_PREVIOUS_RELEASE=".to_owned(),
        format!("DATA_DIR={}/var/lib", shared.display()),
        "GREETING=hello x".to_owned(),
        format!("PATH={}/bin:", release.display()),
    ] {
        assert!(build_env.contains(&line), "{line} not in:\n{build_env}");
    }
    // Shared paths are links into shared/; the state outlives releases.
    assert_eq!(
        std::fs::read_link(release.join("etc")).unwrap(),
        Path::new("../../shared/etc")
    );
    assert_eq!(
        std::fs::read_link(release.join("var/log")).unwrap(),
        Path::new("../../../shared/var/log")
    );
    assert!(shared.join("etc/settings.ini").is_file());
    assert_eq!(
        std::fs::read_to_string(shared.join("etc/secret")).unwrap(),
        "secret\n"
    );
    std::fs::write(release.join("var/lib/data"), "kept").unwrap();

    lab.publish("v2", "", "r2");
    let upgraded = lab.env.run(&["upgrade", "x", "--json"]).success();
    let report = json(&upgraded);
    assert_eq!(report["action"], "upgrade");
    assert_eq!(report["changed"], true);
    assert_eq!(report["release"], "0002-r2");
    assert_eq!(report["previous"], "0001-r1");
    assert_eq!(report["rolled_back"], false);
    assert_eq!(report["error"], serde_json::Value::Null);
    assert_eq!(report["changes"][0]["component"], "svc");
    assert_eq!(
        crate::support::hook_phases(&report),
        ["build", "pre-switch", "post-switch", "post-switch", "check"]
    );
    assert!(report["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["ok"] == true));
    assert_eq!(lab.serving(), "v2");
    assert_eq!(
        std::fs::read_to_string(lab.instance().join("code/current/var/lib/data")).unwrap(),
        "kept"
    );
    let events = lab.events();
    assert_eq!(
        events.iter().filter(|e| e.starts_with("setup")).count(),
        1,
        "setup runs once"
    );
    assert!(events.contains(&"pre-switch 0002-r2 prev=0001-r1".to_owned()));
    assert!(log_of(&lab, "0002-r2").contains("pre-switch of 0002-r2"));
    // Nothing changed: nothing runs.
    let again = lab.env.run(&["upgrade", "x", "--json"]).success();
    assert_eq!(json(&again)["changed"], false);
    assert_eq!(lab.events().len(), events.len());
}

#[test]
fn a_failure_before_the_switch_changes_nothing() {
    let lab = Lab::new();
    lab.install().success();
    for (n, (phase, tag)) in [("build", "r2"), ("pre-switch", "r3")].iter().enumerate() {
        lab.publish(
            "v2",
            &format!("{phase} = ['echo before the failure', 'echo broken >&2; exit 3']"),
            tag,
        );
        let failed = lab.env.run(&["upgrade", "x"]).code(1);
        let err = stderr_of(&failed);
        let release = format!("000{}-{tag}", n + 2);
        assert!(
            err.contains(&format!(
                "{phase} hook of release {release} failed (exit status 3): echo broken >&2; exit 3"
            )),
            "{err}"
        );
        assert!(err.contains("    broken"), "the last lines: {err}");
        assert!(err.contains(&format!("logs/{release}.log")), "{err}");
        assert_eq!(lab.env.current("x"), "0001-r1");
        assert!(
            !lab.instance().join("code").join(&release).exists(),
            "not kept as a candidate"
        );
        assert_eq!(lab.serving(), "v1");
    }
}

#[test]
fn a_failed_check_rolls_back_and_is_not_retried_unless_asked() {
    let lab = Lab::new();
    lab.install().success();
    lab.publish("v3-sick", "check-timeout = \"2s\"", "r2");
    let failed = lab.env.run(&["upgrade", "x", "--json"]).code(1);
    let report = json(&failed);
    assert_eq!(report["rolled_back"], true);
    assert_eq!(report["failed_release"], "0002-r2");
    assert_eq!(report["release"], "0001-r1");
    assert_eq!(report["changed"], true);
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("health check of release 0002-r2 did not pass within 2s"),
        "{error}"
    );
    assert!(error.contains("answered 500"), "{error}");
    assert!(
        error.contains("rolled back to release 0001-r1 (its check passed)"),
        "{error}"
    );
    assert_eq!(lab.env.current("x"), "0001-r1");
    assert_eq!(lab.serving(), "v1", "the old service serves again");
    let events = lab.events();
    let tail = &events[events.len() - 3..];
    assert_eq!(
        tail,
        [
            "post-switch 0002-r2",
            "rollback 0001-r1 from 0002-r2",
            "post-switch 0001-r1"
        ]
    );
    let record = lab.record();
    let second = &record["release"].as_array().unwrap()[1];
    assert!(second["failed"].as_str().unwrap().contains("health check"));
    assert!(record.get("pending").is_none());
    lab.env
        .run(&["status", "x"])
        .success()
        .stdout(predicate::str::contains("0002-r2 (failed)"));

    // The same pins are not built again...
    lab.env
        .run(&["upgrade", "x"])
        .code(1)
        .stderr(predicate::str::contains(
            "release 0002-r2 had exactly these pins and failed",
        ))
        .stderr(predicate::str::contains("--retry-failed"));
    assert!(!lab.instance().join("code/0003-r2").exists());
    // ...rollback does not pick the failed one...
    lab.env
        .run(&["rollback", "x"])
        .code(2)
        .stderr(predicate::str::contains("no release before 0001-r1"));
    // ...unless asked.
    lab.env
        .run(&["upgrade", "x", "--retry-failed"])
        .code(1)
        .stderr(predicate::str::contains("rolled back to release 0001-r1"));
    assert!(lab.instance().join("code/0003-r2/lava.lock").is_file());
    assert_eq!(lab.serving(), "v1");
}

#[test]
fn a_failed_post_switch_rolls_back_too() {
    let lab = Lab::new();
    lab.install().success();
    lab.publish("v2", "post-switch = \"exit 4\"", "r2");
    lab.env
        .run(&["upgrade", "x"])
        .code(1)
        .stderr(predicate::str::contains(
            "post-switch hook of release 0002-r2 failed (exit status 4)",
        ))
        .stderr(predicate::str::contains("rolled back to release 0001-r1"));
    assert_eq!(lab.env.current("x"), "0001-r1");
    assert_eq!(lab.serving(), "v1");
}

#[test]
fn manual_rollback_runs_the_hooks_of_the_release_it_moves_to() {
    let lab = Lab::new();
    lab.install().success();
    lab.publish("v2", "", "r2");
    lab.env.run(&["upgrade", "x"]).success();
    assert_eq!(lab.serving(), "v2");
    let rolled = lab.env.run(&["rollback", "x", "--json"]).success();
    let report = json(&rolled);
    assert_eq!(report["action"], "rollback");
    assert_eq!(report["release"], "0001-r1");
    assert_eq!(report["previous"], "0002-r2");
    assert_eq!(report["changed"], true);
    assert_eq!(lab.env.current("x"), "0001-r1");
    assert_eq!(lab.serving(), "v1");
    let events = lab.events();
    assert_eq!(
        &events[events.len() - 2..],
        ["rollback 0001-r1 from 0002-r2", "post-switch 0001-r1"]
    );
}

#[test]
fn no_hooks_skips_them_loudly() {
    let lab = Lab::new();
    lab.install().success();
    let before = lab.events();
    lab.publish("v2", "", "r2");
    lab.env
        .run(&["upgrade", "x", "--no-hooks"])
        .success()
        .stderr(predicate::str::contains(
            "--no-hooks: the hooks of 0002-r2 are NOT run",
        ));
    assert_eq!(lab.events(), before);
    assert_eq!(lab.env.current("x"), "0002-r2");
    assert_eq!(lab.serving(), "v1", "nobody restarted the service");
}

#[test]
fn a_run_killed_between_switch_and_check_is_finished_by_the_next() {
    let lab = Lab::new();
    lab.install().success();
    lab.publish("v2", "", "r2");
    let mut paused = lab.env.spawn_paused("after-switch", &["upgrade", "x"]);
    paused.kill().unwrap();
    paused.wait().unwrap();
    assert_eq!(lab.env.current("x"), "0002-r2");
    assert_eq!(lab.serving(), "v1", "post-switch never ran");
    lab.env
        .run(&["status", "x"])
        .success()
        .stdout(predicate::str::contains("INTERRUPTED"))
        .stdout(predicate::str::contains("switched to release 0002-r2"));
    lab.env
        .run(&["upgrade", "x"])
        .success()
        .stderr(predicate::str::contains(
            "was interrupted before its post-switch",
        ));
    assert_eq!(lab.serving(), "v2");
    assert!(lab.record().get("pending").is_none());
    lab.env
        .run(&["status", "x"])
        .success()
        .stdout(predicate::str::contains("INTERRUPTED").not());
}

#[test]
fn changed_hooks_show_in_plan_and_deploy() {
    let lab = Lab::new();
    lab.install().success();
    lab.publish(
        "v1",
        "pre-switch = 'echo new pre-switch >> \"$LAVA_SHARED_DIR/var/log/events\"'",
        "r2",
    );
    let plan = lab.env.run(&["plan", "x", "--json"]).success();
    let plan = json(&plan);
    assert_eq!(plan["changed"], true);
    assert_eq!(plan["service"][0]["key"], "hooks.pre-switch");
    lab.env
        .run(&["plan", "x"])
        .success()
        .stdout(predicate::str::contains("~ hooks.pre-switch:"));
    lab.env.run(&["upgrade", "x"]).success();
    assert_eq!(lab.env.current("x"), "0002-r2");
    assert!(lab.events().contains(&"new pre-switch".to_owned()));
}

#[test]
fn hung_hooks_silent_checks_and_unknown_phases_fail_clearly() {
    let lab = Lab::new();
    lab.install().success();
    lab.publish("v2", "pre-switch = \"sleep 30\"\ntimeout = \"1s\"", "r2");
    let started = std::time::Instant::now();
    lab.env
        .run(&["upgrade", "x"])
        .code(1)
        .stderr(predicate::str::contains("killed after the 1s timeout"));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let silent = crate::support::free_port();
    lab.publish(
        "v2",
        &format!("check-url = \"http://127.0.0.1:{silent}/\"\ncheck-timeout = \"1s\""),
        "r3",
    );
    lab.env
        .run(&["upgrade", "x"])
        .code(1)
        .stderr(predicate::str::contains("did not pass within 1s"))
        .stderr(predicate::str::contains(format!("127.0.0.1:{silent}")));
    assert_eq!(lab.env.current("x"), "0001-r1");
    lab.publish("v2", "pre-swtich = \"true\"", "r4");
    lab.env
        .run(&["upgrade", "x"])
        .code(2)
        .stderr(predicate::str::contains("pre-swtich"))
        .stderr(predicate::str::contains("lava.toml:"));
}

#[test]
fn a_multi_line_hook_fails_at_its_first_failing_command() {
    let lab = Lab::new();
    let events = "\"$LAVA_SHARED_DIR/var/log/events\"";
    // One TOML string of two lines (`\n` is TOML's escape).
    lab.publish(
        "v1",
        r#"pre-switch = "false\necho done >> \"$LAVA_SHARED_DIR/var/log/events\"""#,
        "r2",
    );
    let failed = lab.install().code(1);
    assert!(
        stderr_of(&failed).contains("pre-switch hook of release 0001-r2 failed (exit status 1)"),
        "{}",
        stderr_of(&failed)
    );
    assert!(
        !lab.events().iter().any(|e| e == "done"),
        "{:?}",
        lab.events()
    );
    lab.publish(
        "v1",
        &format!("pre-switch = 'false; echo done >> {events}'"),
        "r3",
    );
    lab.install().code(1);
    assert!(
        !lab.events().iter().any(|e| e == "done"),
        "{:?}",
        lab.events()
    );
}

#[test]
fn check_url_expands_environment_and_lava_variables() {
    let lab = Lab::new();
    let port = lab.port;
    lab.publish_with_environment(
        "v1",
        "check-url = \"http://${SVC_ADDR}/health\"",
        &format!("SVC_ADDR = \"127.0.0.1:{port}\""),
        "r2",
    );
    let report = json(
        &lab.env
            .run(&[
                "install",
                "x",
                "--manifest-branch",
                &lab.manifest.url(),
                "--json",
            ])
            .success(),
    );
    let checked: Vec<&str> = report["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["phase"] == "check")
        .map(|h| h["command"].as_str().unwrap())
        .collect();
    assert_eq!(checked, [format!("GET http://127.0.0.1:{port}/health")]);

    // A variable that is neither in [environment] nor a lava-deploy one.
    lab.publish("v2", "check-url = \"http://${NOPE}/health\"", "r3");
    let refused = lab.env.run(&["upgrade", "x"]).code(2);
    let stderr = stderr_of(&refused);
    assert!(
        stderr.contains("check-url") && stderr.contains("${NOPE}"),
        "{stderr}"
    );
    assert_eq!(lab.env.current("x"), "0001-r2");
}
