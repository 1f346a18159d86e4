//! Secrets: `secret set|list|rm`, their way into hooks and `exec`, and
//! their absence from every file and every output but the secrets file.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{stderr_of, stdout_of, Env, GitRepo};

/// A value no test could produce by chance.
fn unique_value(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{label}-{}-{nanos:x}", std::process::id())
}

/// A manifest with one path component, `[environment]`, `[secrets]` and
/// `extra` lines (more sections or `[hooks]` keys, placed after `[hooks]`).
fn manifest(hooks: &str, extra: &str) -> String {
    format!(
        r#"[components.app]
path = "app"

[environment]
DATABASE_URL = "from-environment"
GREETING = "hello ${{LAVA_INSTANCE}}"

{extra}

[hooks]
{hooks}
"#
    )
}

fn manifest_repo(env: &Env, lava_toml: &str) -> GitRepo {
    let repo = env.git_repo("manifest");
    repo.write("app/README", "app\n");
    repo.write("lava.toml", lava_toml);
    repo.commit("r1");
    repo.tag("r1");
    repo
}

fn publish(repo: &GitRepo, lava_toml: &str, message: &str) {
    repo.write("lava.toml", lava_toml);
    repo.commit(message);
    repo.tag(message);
}

fn set_secret(env: &Env, name: &str, key: &str, value: &[u8]) -> assert_cmd::assert::Assert {
    env.cmd()
        .args(["secret", "set", name, key, "--json"])
        .write_stdin(value.to_vec())
        .assert()
}

fn json_of(assert: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&assert.get_output().stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}", stdout_of(assert));
    })
}

/// Every file under `dir` (symlinks not followed).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Each output collected, by the command that made it.
#[derive(Default)]
struct Outputs(Vec<(String, Vec<u8>)>);

impl Outputs {
    fn keep(&mut self, what: &str, assert: &assert_cmd::assert::Assert) {
        let output = assert.get_output();
        let mut all = output.stdout.clone();
        all.extend_from_slice(&output.stderr);
        self.0.push((what.to_owned(), all));
    }
}

#[test]
fn a_secret_appears_nowhere_but_its_file() {
    let env = Env::new();
    let first = unique_value("first");
    let second = unique_value("second");
    let hooks = r#"post-switch = 'echo "token is $TOKEN, db is $DATABASE_URL"'
check = 'test "$DATABASE_URL" != from-environment'"#;
    let repo = manifest_repo(&env, &manifest(hooks, "[secrets]\nrequired = [\"TOKEN\"]"));
    let mut outputs = Outputs::default();

    outputs.keep(
        "secret set",
        &set_secret(&env, "x", "TOKEN", first.as_bytes()).success(),
    );
    outputs.keep(
        "secret set",
        &set_secret(&env, "x", "DATABASE_URL", format!("db-{first}").as_bytes()).success(),
    );
    let install = env
        .run(&[
            "install",
            "x",
            "--manifest-branch",
            &repo.url(),
            "--json",
            "-v",
        ])
        .success();
    outputs.keep("install", &install);
    let log = std::fs::read_to_string(env.instance_dir("x").join("logs/0001-r1.log")).unwrap();
    assert!(log.contains("token is ***, db is ***"), "{log}");

    // A changed secret: upgrade builds a release, -v shows the hook output.
    set_secret(&env, "x", "TOKEN", second.as_bytes()).success();
    outputs.keep("plan", &env.run(&["plan", "x"]).success());
    outputs.keep("plan --json", &env.run(&["plan", "x", "--json"]).success());
    let upgrade = env.run(&["upgrade", "x", "-v", "--json"]).success();
    assert!(contains(&upgrade.get_output().stderr, "token is ***"));
    outputs.keep("upgrade -v", &upgrade);
    outputs.keep(
        "status --json",
        &env.run(&["status", "x", "--json"]).success(),
    );
    outputs.keep("status", &env.run(&["status", "x"]).success());
    outputs.keep("list --json", &env.run(&["list", "--json"]).success());
    outputs.keep(
        "secret list",
        &env.run(&["secret", "list", "x", "--json"]).success(),
    );
    outputs.keep(
        "manifest show",
        &env.run(&["manifest", "show", "--manifest-branch", &repo.url()])
            .success(),
    );
    outputs.keep("verify", &env.run(&["verify", "x"]));
    outputs.keep("sbom", &env.run(&["sbom", "x"]).success());

    // A hook that echoes the secret and fails: its log, the error's last
    // lines and the --json report show *** in its place.
    let failing = r#"post-switch = 'echo "leaking $TOKEN"; echo "$TOKEN" >&2; exit 3'"#;
    publish(
        &repo,
        &manifest(failing, "[secrets]\nrequired = [\"TOKEN\"]"),
        "r2",
    );
    let failed = env.run(&["upgrade", "x", "--json"]).code(1);
    let report = json_of(&failed);
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("leaking ***"), "{error}");
    outputs.keep("failed upgrade --json", &failed);
    let failed = env.run(&["upgrade", "x", "--retry-failed"]).code(1);
    assert!(
        stderr_of(&failed).contains("leaking ***"),
        "{}",
        stderr_of(&failed)
    );
    outputs.keep("failed upgrade", &failed);

    for (what, output) in &outputs.0 {
        for value in [&first, &second] {
            assert!(
                !contains(output, value),
                "`{what}` shows a secret: {}",
                String::from_utf8_lossy(output)
            );
        }
    }
    let secrets_file = env.instance_dir("x").join("secrets");
    let files = files_under(&env.root);
    assert!(files.iter().any(|f| f.ends_with("logs/0001-r1.log")));
    assert!(files.iter().any(|f| f.ends_with("lava.lock")));
    for file in files.iter().filter(|f| **f != secrets_file) {
        let bytes = std::fs::read(file).unwrap();
        for value in [&first, &second] {
            assert!(
                !contains(&bytes, value),
                "{} holds a secret",
                file.display()
            );
        }
    }
    for file in [&secrets_file, &env.instance_dir("x").join("secrets.key")] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
    assert!(contains(&std::fs::read(&secrets_file).unwrap(), &second));
}

#[test]
fn a_changed_secret_is_a_new_release_and_an_unchanged_one_is_not() {
    let env = Env::new();
    let repo = manifest_repo(&env, &manifest("check = 'test -n \"$TOKEN\"'", ""));
    assert_eq!(
        json_of(&set_secret(&env, "x", "TOKEN", b"one-value")),
        serde_json::json!({"instance": "x", "key": "TOKEN", "changed": true})
    );
    env.install_from("x", &repo).success();
    let lock = env.current_lock("x");
    let hash = lock["service"]["secrets"]["hashes"]["TOKEN"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(hash.starts_with("hmac-sha256:"), "{hash}");

    // The same value again: nothing changes.
    assert_eq!(
        json_of(&set_secret(&env, "x", "TOKEN", b"one-value\n"))["changed"],
        false
    );
    let plan = json_of(&env.run(&["plan", "x", "--json"]).success());
    assert_eq!(plan["up_to_date"], true, "{plan}");
    let upgrade = json_of(&env.run(&["upgrade", "x", "--json"]).success());
    assert_eq!(upgrade["changed"], false, "{upgrade}");
    assert_eq!(env.current("x"), "0001-r1");

    // Changed, added, removed: each is a change plan names by key.
    set_secret(&env, "x", "TOKEN", b"two-value").success();
    set_secret(&env, "x", "EXTRA", b"extra-value").success();
    let plan = env.run(&["plan", "x"]).success();
    let text = stdout_of(&plan);
    assert!(text.contains("~ secret TOKEN changed"), "{text}");
    assert!(text.contains("+ secret EXTRA"), "{text}");
    assert!(text.contains("upgrade would build a new release"), "{text}");
    let plan = json_of(&env.run(&["plan", "x", "--json"]).success());
    assert_eq!(
        plan["secrets"],
        serde_json::json!([{"key": "EXTRA", "change": "added"}, {"key": "TOKEN", "change": "changed"}])
    );
    let upgrade = json_of(&env.run(&["upgrade", "x", "--json"]).success());
    assert_eq!(upgrade["changed"], true);
    assert_eq!(upgrade["secrets"].as_array().unwrap().len(), 2, "{upgrade}");
    assert_eq!(env.current("x"), "0002-r1");
    let new_hash = env.current_lock("x")["service"]["secrets"]["hashes"]["TOKEN"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_hash, hash);

    let removed = env.run(&["secret", "rm", "x", "EXTRA", "--json"]).success();
    assert_eq!(json_of(&removed)["changed"], true);
    let again = env.run(&["secret", "rm", "x", "EXTRA", "--json"]).success();
    assert_eq!(json_of(&again)["changed"], false);
    assert!(stdout_of(&env.run(&["plan", "x"]).success()).contains("- secret EXTRA"));
    let list = json_of(&env.run(&["secret", "list", "x", "--json"]).success());
    assert_eq!(list["keys"], serde_json::json!(["TOKEN"]));

    // rebuild takes the secrets as they are now.
    env.run(&["rebuild", "x"]).success();
    assert_eq!(env.current("x"), "0003-r1");
    assert!(env.current_lock("x")["service"]["secrets"]["hashes"]
        .get("EXTRA")
        .is_none());

    // Equal values in two instances hash differently (each has its own key).
    set_secret(&env, "y", "TOKEN", b"two-value").success();
    env.install_from("y", &repo).success();
    let other = env.current_lock("y")["service"]["secrets"]["hashes"]["TOKEN"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(other, new_hash);
}

#[test]
fn a_missing_required_secret_stops_install_before_anything_is_built() {
    let env = Env::new();
    let hooks = "build = 'touch \"$LAVA_INSTANCE_DIR/../built\"'";
    let repo = manifest_repo(
        &env,
        &manifest(
            hooks,
            "[secrets]\nrequired = [\"LAVA_WORKER_TOKEN\", \"DATABASE_URL\"]",
        ),
    );
    let refused = env.install_from("x", &repo).code(2);
    let stderr = stderr_of(&refused);
    let root = env.root.display().to_string();
    for wanted in [
        "instance x needs the secrets DATABASE_URL, LAVA_WORKER_TOKEN".to_owned(),
        format!("`lava-deploy --root {root} secret set x LAVA_WORKER_TOKEN`"),
        format!("`lava-deploy --root {root} secret set x DATABASE_URL`"),
    ] {
        assert!(stderr.contains(&wanted), "{wanted:?} not in: {stderr}");
    }
    assert!(!env.instance_dir("x").exists());
    assert!(!env.root.join("instances/built").exists());

    // Set before the first install: the instance directory holds only the
    // secrets and is no instance yet.
    let token = env.path("token");
    std::fs::write(&token, "worker-token\n").unwrap();
    let set = env
        .run(&[
            "secret",
            "set",
            "x",
            "LAVA_WORKER_TOKEN",
            "--from-file",
            token.to_str().unwrap(),
        ])
        .success();
    assert!(stdout_of(&set).contains("secret LAVA_WORKER_TOKEN of x set"));
    assert_eq!(
        crate::support::list_dir(&env.instance_dir("x")),
        ["secrets", "secrets.key"]
    );
    let list = json_of(&env.run(&["list", "--json"]).success());
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
    let plan = json_of(
        &env.run(&["plan", "x", "--manifest-branch", &repo.url(), "--json"])
            .success(),
    );
    assert_eq!(plan["installed"], false);
    assert_eq!(plan["missing_secrets"], serde_json::json!(["DATABASE_URL"]));
    assert!(stdout_of(
        &env.run(&["plan", "x", "--manifest-branch", &repo.url()])
            .success()
    )
    .contains(&format!(
        "`lava-deploy --root {root} secret set x DATABASE_URL`"
    )));

    // Still one missing: refused again, the secrets stay.
    let refused = env.install_from("x", &repo).code(2);
    assert!(
        stderr_of(&refused).contains("the secret DATABASE_URL"),
        "{}",
        stderr_of(&refused)
    );
    assert_eq!(
        crate::support::list_dir(&env.instance_dir("x")),
        ["secrets", "secrets.key"]
    );

    set_secret(&env, "x", "DATABASE_URL", b"postgresql:///lab").success();
    env.install_from("x", &repo).success();
    assert_eq!(env.current("x"), "0001-r1");
    assert!(env.root.join("instances/built").exists());
    let list = json_of(&env.run(&["list", "--json"]).success());
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");

    // A secret removed later: upgrade stops the same way.
    env.run(&["secret", "rm", "x", "DATABASE_URL"]).success();
    let refused = env.run(&["upgrade", "x"]).code(2);
    assert!(stderr_of(&refused).contains("secret set x DATABASE_URL"));
    let refused = env.run(&["rebuild", "x"]).code(2);
    assert!(stderr_of(&refused).contains("secret set x DATABASE_URL"));
    assert_eq!(env.current("x"), "0001-r1");
}

#[test]
fn an_instance_with_only_secrets_can_be_removed() {
    let env = Env::new();
    set_secret(&env, "x", "TOKEN", b"token").success();
    env.run(&["status", "x"]).code(2);
    env.run(&["remove", "x", "--yes"]).success();
    assert!(!env.instance_dir("x").exists());
    env.run(&["secret", "list", "x"]).code(2);
}

#[test]
fn hostile_keys_are_refused_and_any_value_round_trips() {
    let env = Env::new();
    for key in [
        "../x",
        "A=B",
        "",
        "1X",
        "A B",
        "LAVA_INSTANCE",
        "LAVA_PHASE",
        "PATH",
    ] {
        let refused = set_secret(&env, "x", key, b"value").code(2);
        assert!(
            stderr_of(&refused).contains("secret"),
            "{key}: {}",
            stderr_of(&refused)
        );
    }
    assert!(!env.root.join("x").exists() && !env.root.join("instances/x").exists());
    let refused = set_secret(&env, "x", "NUL", b"a\0b").code(2);
    assert!(stderr_of(&refused).contains("NUL byte"));
    let refused = set_secret(&env, "../x", "KEY", b"v").code(2);
    assert!(
        stderr_of(&refused).contains("../x"),
        "{}",
        stderr_of(&refused)
    );

    // 10 kB over many lines with every character TOML quotes; the final
    // newline of a multi-line value is kept, a one-line value loses it.
    let big: String = (0..400)
        .map(|i| format!("{i:03} = \"q\" 'a' \\n \\ $HOME `x` \t\r\n"))
        .collect();
    assert!(big.len() > 10_000);
    set_secret(&env, "x", "BIG", big.as_bytes()).success();
    set_secret(&env, "x", "ONE", b"one line\n").success();
    set_secret(&env, "x", "LAVA_WORKER_TOKEN", b"tok").success();
    let hooks = r#"build = 'printf %s "$BIG" > "$LAVA_SHARED_DIR/big"; printf %s "$ONE" > "$LAVA_SHARED_DIR/one"'"#;
    let repo = manifest_repo(&env, &manifest(hooks, "[shared]\ndirs = [\"d\"]"));
    env.install_from("x", &repo).success();
    let shared = env.instance_dir("x").join("shared");
    assert_eq!(std::fs::read_to_string(shared.join("big")).unwrap(), big);
    assert_eq!(
        std::fs::read_to_string(shared.join("one")).unwrap(),
        "one line"
    );
    let out = env
        .run(&["exec", "x", "--", "sh", "-c", "printf %s \"$BIG\""])
        .success();
    assert_eq!(stdout_of(&out), big);
}

#[test]
fn exec_runs_in_the_current_release_as_hooks_do() {
    let env = Env::new();
    let repo = manifest_repo(&env, &manifest("", ""));
    set_secret(&env, "x", "DATABASE_URL", b"from-secret").success();
    set_secret(&env, "x", "TOKEN", b"the-token").success();
    env.install_from("x", &repo).success();
    let release = env.instance_dir("x").join("code/0001-r1");

    let script =
        r#"echo "$DATABASE_URL|$TOKEN|$GREETING|$LAVA_PHASE|$LAVA_RELEASE|$(pwd)|${PATH%%:*}""#;
    let out = env.run(&["exec", "x", "--", "sh", "-c", script]).success();
    assert_eq!(
        stdout_of(&out).trim(),
        format!(
            "from-secret|the-token|hello x|exec|0001-r1|{}|{}/bin",
            release.display(),
            release.display()
        )
    );
    // A command by name is found in the release's bin/ first.
    let script = release.join("bin/only-in-this-release");
    std::fs::write(&script, "#!/bin/sh\necho \"found $1\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = env
        .run(&["exec", "x", "--", "only-in-this-release", "arg"])
        .success();
    assert_eq!(stdout_of(&out), "found arg\n");
    env.run(&["exec", "x", "--", "sh", "-c", "exit 7"]).code(7);
    env.run(&["exec", "x", "--", "sh", "-c", "kill -TERM $$"])
        .code(128 + 15);
    let stdin = env
        .cmd()
        .args(["exec", "x", "--", "cat"])
        .write_stdin("through\n")
        .assert()
        .success();
    assert_eq!(stdout_of(&stdin), "through\n");

    // No lock: exec runs while an upgrade holds it.
    set_secret(&env, "x", "TOKEN", b"changed").success();
    let mut upgrade = env.spawn_paused("before-switch", &["upgrade", "x"]);
    let busy = set_secret(&env, "x", "TOKEN", b"busy").code(3);
    assert!(
        stderr_of(&busy).contains("instance x is busy"),
        "{}",
        stderr_of(&busy)
    );
    let out = env
        .run(&["exec", "x", "--", "sh", "-c", "echo $TOKEN"])
        .success();
    assert_eq!(stdout_of(&out).trim(), "changed");
    upgrade.kill().unwrap();
    upgrade.wait().unwrap();

    for (name, wanted) in [("nope", "no instance nope"), ("../x", "../x")] {
        let refused = env.run(&["exec", name, "--", "true"]).code(2);
        assert!(
            stderr_of(&refused).contains(wanted),
            "{}",
            stderr_of(&refused)
        );
    }
    let missing = env.run(&["exec", "x", "--", "no-such-command"]).code(2);
    assert!(stderr_of(&missing).contains("no-such-command"));
}

#[test]
fn exec_without_a_current_release_says_so() {
    let env = Env::new();
    let repo = manifest_repo(
        &env,
        &manifest("check = 'exit 1'\ncheck-timeout = \"1s\"", ""),
    );
    env.install_from("x", &repo).code(1);
    let refused = env.run(&["exec", "x", "--", "true"]).code(2);
    assert!(
        stderr_of(&refused).contains("instance x has no working release"),
        "{}",
        stderr_of(&refused)
    );
}

#[test]
fn secret_set_check_says_whether_it_would_change_and_writes_nothing() {
    let env = Env::new();
    let check = |value: &str| {
        let out = env
            .cmd()
            .args(["secret", "set", "x", "TOKEN", "--check", "--json"])
            .write_stdin(value)
            .assert()
            .success();
        assert!(
            !contains(&out.get_output().stdout, value),
            "the value is shown"
        );
        json_of(&out)["changed"].clone()
    };
    // Before anything exists: it would be set, and nothing is made.
    assert_eq!(check("first-value"), true);
    assert!(
        !env.instance_dir("x").exists(),
        "--check made the instance directory"
    );
    set_secret(&env, "x", "TOKEN", b"first-value").success();
    let secrets = env.instance_dir("x").join("secrets");
    let stored = std::fs::read(&secrets).unwrap();
    assert_eq!(
        check("first-value\n"),
        false,
        "the same value, as `set` reads it"
    );
    assert_eq!(check("second-value"), true);
    assert_eq!(
        std::fs::read(&secrets).unwrap(),
        stored,
        "--check wrote the file"
    );
    // The same rules as `set`.
    env.cmd()
        .args(["secret", "set", "x", "A=B", "--check"])
        .write_stdin("v")
        .assert()
        .code(2);
}

#[test]
fn required_secrets_are_a_union_through_extends_and_bad_keys_a_manifest_error() {
    let env = Env::new();
    let repo = env.git_repo("manifest");
    repo.write("base.toml", "[secrets]\nrequired = [\"BASE_TOKEN\"]\n");
    repo.write(
        "lava.toml",
        "[manifest]\nextends = \"base.toml\"\n\n[secrets]\nrequired = [\"DATABASE_URL\"]\n",
    );
    repo.commit("r1");
    let show = env
        .run(&[
            "manifest",
            "show",
            "--manifest-branch",
            &repo.url(),
            "--json",
        ])
        .success();
    assert_eq!(
        json_of(&show)["secrets"]["required"],
        serde_json::json!(["BASE_TOKEN", "DATABASE_URL"])
    );
    let show = env
        .run(&["manifest", "show", "--manifest-branch", &repo.url()])
        .success();
    assert!(
        stdout_of(&show).contains("[secrets]"),
        "{}",
        stdout_of(&show)
    );

    repo.write(
        "lava.toml",
        "[secrets]\nrequired = [\"A=B\", \"LAVA_RELEASE\"]\n",
    );
    repo.commit("r2");
    let refused = env
        .run(&["manifest", "show", "--manifest-branch", &repo.url()])
        .code(2);
    let stderr = stderr_of(&refused);
    assert!(
        stderr.contains("lava.toml") && stderr.contains("\"A=B\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("LAVA_RELEASE cannot be a secret"),
        "{stderr}"
    );
}
