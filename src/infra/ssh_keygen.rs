//! OpenSSH's `ssh-keygen -Y`, the program git itself runs to check SSH
//! signatures (`gpg.format = ssh`). Each call is one run with explicit
//! settings; which calls to make, and what their answers mean, is the
//! caller's policy (`ops::trust`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

/// The namespace git signs commits and tags in.
pub const GIT_NAMESPACE: &str = "git";

/// How to run ssh-keygen.
#[derive(Debug, Clone)]
pub struct SshKeygen {
    /// `ssh-keygen`, looked up on PATH, or a path.
    pub program: PathBuf,
}

impl Default for SshKeygen {
    fn default() -> Self {
        SshKeygen {
            program: PathBuf::from("ssh-keygen"),
        }
    }
}

/// One run's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Answer {
    /// The `SHA256:…` key fingerprint ssh-keygen printed, if any
    /// (`Good "git" signature … with ED25519 key SHA256:…`).
    pub fn fingerprint(&self) -> Option<String> {
        self.stdout
            .split_whitespace()
            .find(|w| w.starts_with("SHA256:"))
            .map(str::to_owned)
    }

    /// stderr, else stdout, on one line: what ssh-keygen said.
    pub fn said(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A signature written to a file, as ssh-keygen reads it (`-s`); removed
/// when dropped.
pub struct SignatureFile(tempfile::NamedTempFile);

impl SignatureFile {
    pub fn new(signature: &[u8]) -> Result<Self> {
        let mut file = tempfile::Builder::new()
            .prefix("lava-deploy-sig-")
            .tempfile()
            .context("cannot create a temporary file for a signature")?;
        file.write_all(signature)?;
        file.flush()?;
        Ok(SignatureFile(file))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

/// What `-Y verify` checks a signature against.
pub struct Verify<'a> {
    pub allowed_signers: &'a Path,
    pub principal: &'a str,
    /// `-r`: a KRL or list of revoked keys.
    pub revoked: Option<&'a Path>,
    /// `-Overify-time=` (`YYYYMMDDHHMMSSZ`): when the key must be valid.
    pub time: Option<&'a str>,
}

impl SshKeygen {
    /// `-Y check-novalidate`: is the signature sound over `payload` in the
    /// git namespace, whoever made it? Prints the key on success.
    pub fn check_novalidate(&self, signature: &SignatureFile, payload: &[u8]) -> Result<Answer> {
        let mut cmd = Command::new(&self.program);
        cmd.args(["-Y", "check-novalidate", "-n", GIT_NAMESPACE, "-s"])
            .arg(signature.path());
        self.run(cmd, Some(payload))
    }

    /// `-Y find-principals`: the principals of `allowed_signers` whose key
    /// made the signature and is valid at `time`, one a line.
    pub fn find_principals(
        &self,
        allowed_signers: &Path,
        signature: &SignatureFile,
        time: Option<&str>,
    ) -> Result<Answer> {
        let mut cmd = Command::new(&self.program);
        cmd.args(["-Y", "find-principals", "-f"])
            .arg(allowed_signers)
            .arg("-s")
            .arg(signature.path());
        if let Some(time) = time {
            cmd.arg(format!("-Overify-time={time}"));
        }
        self.run(cmd, None)
    }

    /// `-Y verify`: the signature over `payload` is by `principal`'s key in
    /// `allowed_signers`, in the git namespace, valid at the time, not revoked.
    pub fn verify(
        &self,
        check: &Verify,
        signature: &SignatureFile,
        payload: &[u8],
    ) -> Result<Answer> {
        let mut cmd = Command::new(&self.program);
        cmd.args(["-Y", "verify", "-n", GIT_NAMESPACE, "-f"])
            .arg(check.allowed_signers)
            .arg("-I")
            .arg(check.principal)
            .arg("-s")
            .arg(signature.path());
        if let Some(revoked) = check.revoked {
            cmd.arg("-r").arg(revoked);
        }
        if let Some(time) = check.time {
            cmd.arg(format!("-Overify-time={time}"));
        }
        self.run(cmd, Some(payload))
    }

    fn run(&self, mut cmd: Command, stdin: Option<&[u8]>) -> Result<Answer> {
        let mut child = cmd
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| {
                format!(
                    "cannot run {} to check the manifest's signature (it comes with \
                     OpenSSH's client tools, e.g. the openssh-client package)",
                    self.program.display()
                )
            })?;
        if let (Some(payload), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // ssh-keygen reads all of stdin before it answers; one that
            // stopped early (bad arguments) says why on stderr, so a broken
            // pipe here is not the error to report.
            if let Err(err) = pipe.write_all(payload) {
                if err.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(err).context("cannot give the signed data to ssh-keygen");
                }
            }
        }
        let output = child
            .wait_with_output()
            .context("ssh-keygen did not finish")?;
        Ok(Answer {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}
