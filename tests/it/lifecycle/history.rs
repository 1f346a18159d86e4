//! The history of a real service: a failed first check, the automatic
//! rollback, stop and start, each one line with its check.

use serde_json::Value;

use super::Lab;
use crate::support::stdout_of;

fn entries(lab: &Lab) -> Vec<Value> {
    let out = lab.env.run(&["history", "x", "--json"]).success();
    serde_json::from_str(&stdout_of(&out)).unwrap()
}

fn health(lab: &Lab) -> Value {
    let out = lab.env.run(&["list", "--json"]).success();
    let list: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    list[0]["health"].clone()
}

#[test]
fn failed_checks_and_the_automatic_rollback_are_in_the_history() {
    let lab = Lab::new();
    // A first release whose check fails: nothing to return to.
    lab.publish("v3-sick", "check-timeout = \"1s\"", "r0");
    lab.install().code(1);
    let first = &entries(&lab)[0];
    assert_eq!(first["action"], "install");
    assert_eq!(first["outcome"], "failed");
    assert_eq!(first["from"], Value::Null);
    assert_eq!(first["to"], Value::Null);
    assert_eq!(first["failed_release"], "0001-r0");
    assert_eq!(first["check"]["release"], "0001-r0");
    assert_eq!(first["check"]["ok"], false);
    assert!(first["error"].as_str().unwrap().contains("health check"));
    assert_eq!(health(&lab), "not-installed");

    lab.publish(
        "v1",
        "stop = 'kill $(cat \"$LAVA_SHARED_DIR/run/pid\")'",
        "r1b",
    );
    lab.install().success();
    // The automatic rollback: one line, the previous release serves.
    // (Another timeout: the same pins as the failed first release would be refused.)
    lab.publish("v3-sick", "check-timeout = \"1500ms\"", "r2");
    lab.env.run(&["upgrade", "x"]).code(1);
    let all = entries(&lab);
    let rolled = &all[2];
    assert_eq!(rolled["action"], "upgrade");
    assert_eq!(rolled["outcome"], "rolled-back");
    assert_eq!(rolled["from"], "0002-r1b");
    assert_eq!(rolled["to"], "0002-r1b");
    assert_eq!(rolled["failed_release"], "0003-r2");
    // The last check is the returning release's, which passed.
    assert_eq!(rolled["check"]["release"], "0002-r1b");
    assert_eq!(rolled["check"]["ok"], true);
    assert_eq!(lab.serving(), "v1");
    assert_eq!(health(&lab), "rolled-back");
    let status = stdout_of(&lab.env.run(&["status", "x"]).success());
    assert!(status.contains("  health:     rolled-back"), "{status}");
    assert!(status.contains("  last check: passed in "), "{status}");
    assert!(status.contains("(upgrade at "), "{status}");
    // The service answers plain text: no version, but it answers.
    assert!(status.contains("  answering:  ok (http://"), "{status}");

    lab.env.run(&["stop", "x"]).success();
    assert_eq!(health(&lab), "stopped");
    let status = stdout_of(&lab.env.run(&["status", "x"]).success());
    assert!(
        !status.contains("answering:"),
        "a stopped instance is not asked: {status}"
    );
    lab.env.run(&["start", "x"]).success();
    let all = entries(&lab);
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["install", "install", "upgrade", "stop", "start"]);
    assert_eq!(all[3]["from"], "0002-r1b");
    assert_eq!(all[3]["to"], "0002-r1b");
    assert_eq!(all[4]["check"]["ok"], true);
    assert_eq!(health(&lab), "ok");
    assert_eq!(lab.serving(), "v1");
}
