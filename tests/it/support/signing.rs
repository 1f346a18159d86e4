//! SSH signing keys made with ssh-keygen, and commits and tags that git
//! signs with them (`gpg.format = ssh`), as a developer would.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::GitRepo;

pub struct SigningKey {
    /// The private key file (what `user.signingkey` names).
    pub private: PathBuf,
    /// `ssh-ed25519 AAAA… comment`.
    pub public: String,
    /// `SHA256:…`, as ssh-keygen prints it.
    pub fingerprint: String,
}

impl SigningKey {
    /// A fresh ed25519 key `dir/name`.
    pub fn new(dir: &Path, name: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let private = dir.join(name);
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&private));
        let public_path = dir.join(format!("{name}.pub"));
        let public = std::fs::read_to_string(&public_path)
            .unwrap()
            .trim()
            .to_owned();
        let listing = run(Command::new("ssh-keygen").arg("-lf").arg(&public_path));
        let fingerprint = listing.split_whitespace().nth(1).unwrap().to_owned();
        assert!(fingerprint.starts_with("SHA256:"), "{listing}");
        SigningKey {
            private,
            public,
            fingerprint,
        }
    }

    /// An allowed-signers line for `principal`, with `options`
    /// (`valid-before="20000101"`, …) when not empty.
    pub fn allowed(&self, principal: &str, options: &str) -> String {
        match options {
            "" => format!("{principal} {}\n", self.public),
            options => format!("{principal} {options} {}\n", self.public),
        }
    }

    fn git_config(&self) -> [String; 4] {
        [
            "-c".into(),
            "gpg.format=ssh".into(),
            "-c".into(),
            format!("user.signingkey={}", self.private.display()),
        ]
    }

    /// Commits everything in `repo`, signed; returns the commit id.
    pub fn commit(&self, repo: &GitRepo, message: &str) -> String {
        repo.git(&["add", "-A"]);
        let mut args: Vec<String> = self.git_config().to_vec();
        args.extend(["commit", "-q", "-S", "--allow-empty", "-m", message].map(String::from));
        repo.git(&args.iter().map(String::as_str).collect::<Vec<_>>());
        repo.head()
    }

    /// A signed annotated tag of HEAD.
    pub fn tag(&self, repo: &GitRepo, name: &str) {
        let mut args: Vec<String> = self.git_config().to_vec();
        args.extend(["tag", "-s", "-m", name, name].map(String::from));
        repo.git(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

fn run(cmd: &mut Command) -> String {
    let output = cmd.output().expect("ssh-keygen runs");
    assert!(
        output.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
