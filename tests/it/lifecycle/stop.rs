//! `stop`: the hooks that run when the instance stops serving a release
//! and no release takes over from it — `remove`, and a first release that
//! failed its check.

use super::{json, Lab};

/// Stops the service `post-switch` started, waiting until it is gone;
/// `status` is the exit status after that.
fn stop_hook(status: u8) -> String {
    let pid = "\"$LAVA_SHARED_DIR/run/pid\"";
    format!(
        "stop = 'echo stop $LAVA_RELEASE >> \"$LAVA_SHARED_DIR/var/log/events\"; \
         pid=$(cat {pid}); kill $pid; while kill -0 $pid 2>/dev/null; do sleep 0.1; done; \
         exit {status}'"
    )
}

fn answers(lab: &Lab) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", lab.port)).is_ok()
}

#[test]
fn remove_stops_the_service_and_a_failing_stop_keeps_the_instance() {
    let lab = Lab::new();
    lab.publish("v1", &stop_hook(3), "r2");
    lab.install().success();
    assert_eq!(lab.serving(), "v1");

    // The stop hook fails: nothing is removed, and the message says what
    // to do. (The service is stopped all the same: the hook killed it
    // before failing.)
    let refused = lab.env.run(&["remove", "x", "--yes"]).code(1);
    let stderr = crate::support::stderr_of(&refused);
    assert!(
        stderr.contains("instance x is not removed: the stop hook of release 0001-r2 failed"),
        "{stderr}"
    );
    assert!(stderr.contains("remove x --no-hooks"), "{stderr}");
    assert!(lab.instance().join("code/current").exists());
    assert_eq!(lab.events().last().unwrap(), "stop 0001-r2");

    // A stop that works: the service is gone with the instance.
    lab.publish("v2", &stop_hook(0), "r3");
    lab.env.run(&["upgrade", "x"]).success();
    assert_eq!(lab.serving(), "v2");
    lab.env.run(&["remove", "x", "--yes"]).success();
    assert!(!lab.instance().exists());
    assert!(!answers(&lab), "the service outlived remove");
}

#[test]
fn a_first_release_that_fails_its_check_is_stopped() {
    let lab = Lab::new();
    lab.publish(
        "v3-sick",
        &format!("check-timeout = \"1s\"\n{}", stop_hook(0)),
        "r1-sick",
    );
    let failed = lab
        .env
        .run(&[
            "install",
            "x",
            "--json",
            "--manifest-branch",
            &lab.manifest.url(),
        ])
        .code(1);
    let report = json(&failed);
    assert_eq!(
        crate::support::hook_phases(&report),
        [
            "setup",
            "setup",
            "build",
            "pre-switch",
            "post-switch",
            "post-switch",
            "check",
            "stop"
        ]
    );
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("there is no earlier release to return to"),
        "{error}"
    );
    assert_eq!(lab.events().last().unwrap(), "stop 0001-r1-sick");
    assert!(!answers(&lab), "the failed release's service still runs");
    assert!(!lab.instance().join("code/current").exists());
}

#[test]
fn stop_and_start_the_current_release_without_removing_it() {
    let lab = Lab::new();
    lab.publish("v1", &stop_hook(0), "r2");
    lab.install().success();
    assert_eq!(lab.serving(), "v1");

    let stopped = json(&lab.env.run(&["stop", "x", "--json"]).success());
    assert_eq!(crate::support::hook_phases(&stopped), ["stop"]);
    assert_eq!(stopped["changed"], true);
    assert_eq!(stopped["release"], "0001-r2");
    assert!(!answers(&lab), "the service still answers after stop");
    assert_eq!(lab.env.current("x"), "0001-r2");
    assert!(lab.instance().join("code/0001-r2/lava.lock").is_file());

    let started = lab.env.run(&["start", "x"]).success();
    assert!(crate::support::stdout_of(&started).contains("started x"));
    assert_eq!(lab.serving(), "v1");
    assert_eq!(lab.events().last().unwrap(), "post-switch 0001-r2");
    let again = json(&lab.env.run(&["start", "x", "--json"]).success());
    assert_eq!(
        crate::support::hook_phases(&again),
        ["post-switch", "post-switch", "check"]
    );
    assert_eq!(lab.serving(), "v1");

    lab.env.run(&["stop", "nope"]).code(2);
    lab.env.run(&["start", "nope"]).code(2);
}
