//! `--manifest-signers`: the manifest commit or tag must be signed by a key
//! of an allowed-signers file; keys and signatures are made here with
//! ssh-keygen and git.

use std::path::PathBuf;

use predicates::prelude::*;

use crate::support::signing::SigningKey;
use crate::support::{list_dir, read_toml, stderr_of, stdout_of, Env, GitRepo};

const ALICE: &str = "alice@example.org";
const BOB: &str = "bob@example.org";

/// Two keys, a signers file listing alice (with `options`), and a manifest
/// branch with one path component, not yet committed.
struct Lab {
    env: Env,
    alice: SigningKey,
    bob: SigningKey,
    signers: PathBuf,
    manifest: GitRepo,
}

impl Lab {
    fn new(alice_options: &str) -> Self {
        let env = Env::new();
        let keys = env.path("keys");
        let alice = SigningKey::new(&keys, "alice");
        let bob = SigningKey::new(&keys, "bob");
        let signers = env.path("allowed_signers");
        std::fs::write(&signers, alice.allowed(ALICE, alice_options)).unwrap();
        let manifest = env.git_repo("manifest");
        manifest
            .write("lava.toml", "[components.recipes]\npath = \"recipes\"\n")
            .write("recipes/run.sh", "echo 1\n");
        Lab {
            env,
            alice,
            bob,
            signers,
            manifest,
        }
    }

    fn signers(&self) -> String {
        self.signers.display().to_string()
    }

    /// `install x` of `spec` with the signers file.
    fn install(&self, spec: &str) -> assert_cmd::assert::Assert {
        self.env.run(&[
            "install",
            "x",
            "--manifest-branch",
            spec,
            "--manifest-signers",
            &self.signers(),
        ])
    }

    fn lock_signature(&self) -> toml::Table {
        self.env.current_lock("x")["manifest"]["signature"]
            .as_table()
            .expect("the lock records the signature")
            .clone()
    }
}

#[test]
fn a_signed_commit_is_deployed_and_its_signer_recorded_and_shown() {
    let lab = Lab::new("");
    let commit = lab.alice.commit(&lab.manifest, "signed manifest");
    // A relative path, recorded as an absolute one.
    lab.env
        .cmd()
        .current_dir(lab.env.tmp.path())
        .args(["install", "x", "--manifest-branch", &lab.manifest.url()])
        .args(["--manifest-signers", "allowed_signers"])
        .assert()
        .success();
    let signature = lab.lock_signature();
    assert_eq!(signature["principal"].as_str(), Some(ALICE));
    assert_eq!(
        signature["key"].as_str(),
        Some(lab.alice.fingerprint.as_str())
    );
    assert_eq!(
        signature["object"].as_str(),
        Some(format!("commit {commit}").as_str())
    );
    assert_eq!(
        signature["signers-file"].as_str(),
        Some(lab.signers().as_str())
    );
    let record = read_toml(&lab.env.instance_dir("x").join("instance.toml"));
    assert_eq!(
        record["source"]["signers"].as_str(),
        Some(lab.signers().as_str())
    );

    let status = stdout_of(&lab.env.run(&["status", "x"]).success());
    assert!(
        status.contains(&format!("signers:    {}", lab.signers())),
        "{status}"
    );
    assert!(
        status.contains(&format!(
            "signed by:  {ALICE} (key {}) on commit {commit}",
            lab.alice.fingerprint
        )),
        "{status}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout_of(
        &lab.env.run(&["status", "x", "--json"]).success(),
    ))
    .unwrap();
    assert_eq!(json["manifest"]["signature"]["principal"], ALICE);
    assert_eq!(
        json["manifest"]["signature"]["key"],
        lab.alice.fingerprint.as_str()
    );
}

#[test]
fn a_signed_tag_is_deployed_and_an_unsigned_tag_is_refused() {
    let lab = Lab::new("");
    // The commit itself is not signed: the tag is what vouches for it.
    let commit = lab.manifest.commit("release");
    lab.alice.tag(&lab.manifest, "v1");
    lab.manifest.tag("v1-unsigned");

    let refused = lab
        .install(&lab.manifest.spec("v1-unsigned"))
        .code(2)
        .stderr(predicate::str::contains("tag v1-unsigned"))
        .stderr(predicate::str::contains("is not signed"))
        .stderr(predicate::str::contains(lab.signers()));
    assert!(
        stderr_of(&refused).contains(&commit),
        "names the commit too"
    );
    assert!(!lab.env.instance_dir("x").exists(), "nothing left behind");

    lab.install(&lab.manifest.spec("v1")).success();
    let signature = lab.lock_signature();
    assert_eq!(signature["principal"].as_str(), Some(ALICE));
    assert!(
        signature["object"]
            .as_str()
            .unwrap()
            .starts_with("tag v1 ("),
        "{signature:?}"
    );
}

#[test]
fn an_unsigned_commit_is_refused_naming_it_before_anything_is_fetched() {
    let lab = Lab::new("");
    // A component that does not exist: were it fetched, the error would say so.
    lab.manifest.write(
        "lava.toml",
        "[components.gone]\ngit = \"/nonexistent/repo\"\nrev = \"v1\"\n",
    );
    let commit = lab.manifest.commit("unsigned");
    let refused = lab
        .install(&lab.manifest.url())
        .code(2)
        .stderr(predicate::str::contains(format!(
            "manifest commit {commit}"
        )))
        .stderr(predicate::str::contains("is not signed"))
        .stderr(predicate::str::contains(lab.signers()));
    assert!(
        !stderr_of(&refused).contains("nonexistent"),
        "{}",
        stderr_of(&refused)
    );
    assert!(!lab.env.instance_dir("x").exists(), "nothing left behind");
}

#[test]
fn a_key_not_in_the_signers_file_is_refused_naming_key_and_file() {
    let lab = Lab::new("");
    let commit = lab.bob.commit(&lab.manifest, "signed by bob");
    lab.install(&lab.manifest.url())
        .code(2)
        .stderr(predicate::str::contains(&commit))
        .stderr(predicate::str::contains(&lab.bob.fingerprint))
        .stderr(predicate::str::contains(format!(
            "which is not in {}",
            lab.signers()
        )));
}

#[test]
fn a_key_outside_its_validity_window_is_refused() {
    // The test commits are dated 2012.
    let lab = Lab::new("valid-before=\"20000101\"");
    let commit = lab.alice.commit(&lab.manifest, "signed too late");
    lab.install(&lab.manifest.url())
        .code(2)
        .stderr(predicate::str::contains(&commit))
        .stderr(predicate::str::contains(&lab.alice.fingerprint))
        .stderr(predicate::str::contains("valid-after/valid-before"))
        .stderr(predicate::str::contains(lab.signers()));

    // Valid from before the commit on: accepted.
    std::fs::write(
        &lab.signers,
        lab.alice.allowed(ALICE, "valid-after=\"20100101\""),
    )
    .unwrap();
    lab.install(&lab.manifest.url()).success();
}

#[test]
fn a_revoked_key_is_refused() {
    let lab = Lab::new("");
    lab.alice.commit(&lab.manifest, "signed");
    let revoked = lab.env.path("revoked_keys");
    std::fs::write(&revoked, format!("{}\n", lab.alice.public)).unwrap();
    lab.env
        .cmd()
        .args(["install", "x", "--manifest-branch", &lab.manifest.url()])
        .args(["--manifest-signers", &lab.signers()])
        .args(["--manifest-revoked", &revoked.display().to_string()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(&lab.alice.fingerprint))
        .stderr(predicate::str::contains(format!(
            "revoked in {}",
            revoked.display()
        )));
}

#[test]
fn upgrades_keep_checking_the_recorded_signers_and_current_stays() {
    let lab = Lab::new("");
    lab.alice.commit(&lab.manifest, "signed v1");
    lab.install(&lab.manifest.url()).success();
    let current = lab.env.current("x");
    let code = list_dir(&lab.env.instance_dir("x").join("code"));

    // Not told again: the recorded signers file applies.
    lab.manifest.write("recipes/run.sh", "echo 2\n");
    let unsigned = lab.manifest.commit("unsigned v2");
    lab.env
        .run(&["upgrade", "x"])
        .code(2)
        .stderr(predicate::str::contains(format!(
            "manifest commit {unsigned}"
        )))
        .stderr(predicate::str::contains(lab.signers()));
    lab.env
        .run(&["plan", "x"])
        .code(2)
        .stderr(predicate::str::contains(&unsigned));
    assert_eq!(lab.env.current("x"), current);
    assert_eq!(list_dir(&lab.env.instance_dir("x").join("code")), code);

    // --manifest-signers on upgrade replaces the recorded file.
    let bob_signers = lab.env.path("bob_signers");
    std::fs::write(&bob_signers, lab.bob.allowed(BOB, "")).unwrap();
    lab.bob.commit(&lab.manifest, "signed by bob");
    lab.env
        .cmd()
        .args(["upgrade", "x", "--manifest-signers"])
        .arg(&bob_signers)
        .assert()
        .success();
    assert_ne!(lab.env.current("x"), current);
    let record = read_toml(&lab.env.instance_dir("x").join("instance.toml"));
    assert_eq!(
        record["source"]["signers"].as_str(),
        Some(bob_signers.display().to_string().as_str())
    );
    assert_eq!(lab.lock_signature()["principal"].as_str(), Some(BOB));

    // rebuild checks the current lock's commit against the file as it is
    // now: bob taken out, nothing is built.
    std::fs::write(&bob_signers, lab.alice.allowed(ALICE, "")).unwrap();
    let current = lab.env.current("x");
    lab.env
        .run(&["rebuild", "x"])
        .code(2)
        .stderr(predicate::str::contains(&lab.bob.fingerprint));
    assert_eq!(lab.env.current("x"), current);
}

#[test]
fn offline_verification_uses_the_cached_objects() {
    let lab = Lab::new("");
    lab.alice.commit(&lab.manifest, "signed");
    // By URL, which need not exist on disk when it is used again.
    let url = lab.manifest.file_url();
    lab.install(&url).success();
    // The manifest repository is gone: only the cache has the objects.
    std::fs::rename(&lab.manifest.path, lab.env.path("moved")).unwrap();
    let offline = |name: &str, signers: &str| {
        lab.env
            .cmd()
            .args(["--offline", "install", name, "--manifest-branch", &url])
            .args(["--manifest-signers", signers])
            .assert()
    };
    let only_bob = lab.env.path("only_bob");
    std::fs::write(&only_bob, lab.bob.allowed(BOB, "")).unwrap();
    offline("y", &only_bob.display().to_string())
        .code(2)
        .stderr(predicate::str::contains(&lab.alice.fingerprint));
    offline("y", &lab.signers()).success();
    let lock = lab.env.current_lock("y");
    assert_eq!(
        lock["manifest"]["signature"]["principal"].as_str(),
        Some(ALICE)
    );
    lab.env
        .run(&["--offline", "upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("up to date"));
}

#[test]
fn a_commit_changed_after_signing_is_refused_as_a_bad_signature() {
    let lab = Lab::new("");
    let signed = lab.alice.commit(&lab.manifest, "signed");
    // The same commit with another message, its signature kept.
    let raw = lab.manifest.git(&["cat-file", "commit", &signed]);
    let forged = lab.env.path("forged");
    std::fs::write(
        &forged,
        format!("{}\n", raw.replace("\nsigned", "\nforged")),
    )
    .unwrap();
    let forged = lab.manifest.git(&[
        "hash-object",
        "-t",
        "commit",
        "-w",
        &forged.display().to_string(),
    ]);
    lab.manifest
        .git(&["update-ref", "refs/heads/main", &forged]);
    lab.install(&lab.manifest.url())
        .code(2)
        .stderr(predicate::str::contains(format!(
            "manifest commit {forged}"
        )))
        .stderr(predicate::str::contains("bad signature"))
        .stderr(predicate::str::contains(&lab.alice.fingerprint));
}
