//! Signed manifests: when an instance names an allowed-signers file, the
//! manifest commit — or the annotated tag it was selected by — must carry
//! a valid SSH signature by a key listed there. Checked right after the
//! manifest branch is resolved, before the manifest is read or any
//! component fetched, with OpenSSH doing what `git verify-commit` /
//! `git verify-tag` make it do.

use std::path::{Path, PathBuf};

use crate::core::error::Result;
use crate::core::names::is_full_commit;
use crate::core::record::SourceRecord;
use crate::core::trust::{signature_kind, ManifestSignature, SshSignature};
use crate::infra::git::GitCache;
use crate::infra::git_signature::{self, SignedObject};
use crate::infra::ssh_keygen::{SignatureFile, SshKeygen, Verify};
use crate::invalid;

/// What a manifest's signature is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// An OpenSSH allowed-signers file, absolute.
    pub signers: PathBuf,
    /// Revoked keys (a KRL or a list of public keys), absolute.
    pub revoked: Option<PathBuf>,
}

/// The files asked for win over the ones the instance recorded; each is
/// replaced on its own. Given files are made absolute (they must exist),
/// so the recorded paths hold from any working directory.
pub fn choose(
    signers: Option<&Path>,
    revoked: Option<&Path>,
    recorded: Option<&SourceRecord>,
) -> Result<Option<Trust>> {
    let pick = |asked: Option<&Path>, recorded: Option<&String>, flag: &str| match asked
        .filter(|p| !p.as_os_str().is_empty())
    {
        Some(path) => absolute_file(path, flag).map(Some),
        None => Ok(recorded.map(PathBuf::from)),
    };
    let signers = pick(
        signers,
        recorded.and_then(|r| r.signers.as_ref()),
        "--manifest-signers",
    )?;
    let revoked = pick(
        revoked,
        recorded.and_then(|r| r.revoked.as_ref()),
        "--manifest-revoked",
    )?;
    match (signers, revoked) {
        (Some(signers), revoked) => Ok(Some(Trust { signers, revoked })),
        (None, Some(revoked)) => Err(invalid!(
            "--manifest-revoked {} needs --manifest-signers: a revocation list only narrows \
             the keys of an allowed-signers file",
            revoked.display()
        )),
        (None, None) => Ok(None),
    }
}

fn absolute_file(path: &Path, flag: &str) -> Result<PathBuf> {
    let absolute = fs_err::canonicalize(path).map_err(|err| invalid!("{flag}: {err}"))?;
    if !absolute.is_file() {
        return Err(invalid!("{flag}: {} is not a file", absolute.display()));
    }
    Ok(absolute)
}

/// The trust an instance recorded, for commands that take no manifest
/// flags: `rebuild` (and `develop`, `undevelop`) read no manifest branch
/// but build from the current lock's commit, which is checked again
/// against the signers file as it is now, so a key revoked or removed
/// since stops rebuilds too.
pub fn recorded(record: &SourceRecord) -> Result<Option<Trust>> {
    choose(None, None, Some(record))
}

/// The manifest commit to check, and the branch spec it came from.
pub enum Target<'a> {
    Builtin,
    Git {
        url: &'a str,
        /// As selected (`#REF`): a tag here means the tag must be signed.
        reference: Option<&'a str>,
        commit: &'a str,
        /// `URL#REF`, for messages.
        spec: String,
    },
}

/// The object that must be signed, and how messages name it.
struct Subject {
    object: SignedObject,
    /// `commit <id>` or `tag <name> (<id>)`: recorded in the lock.
    label: String,
    /// `the manifest commit <id> of <spec>`: for messages.
    long: String,
}

/// Checks the signature of the manifest commit (or tag) against `trust`.
/// Every refusal is an [`Error::Invalid`](crate::core::error::Error)
/// naming the commit or tag, the key and the file, and what to do.
pub fn verify(git: &GitCache, target: &Target, trust: &Trust) -> Result<ManifestSignature> {
    let subject = subject(git, target, trust)?;
    let (signature, parsed) = ssh_signature(&subject, trust)?;
    let missing = |file: &Path, flag: &str| {
        invalid!(
            "{} is missing, so {} (signed by key {}) cannot be checked; restore it, or name \
             another with {flag}",
            file.display(),
            subject.long,
            parsed.fingerprint()
        )
    };
    if !trust.signers.is_file() {
        return Err(missing(&trust.signers, "--manifest-signers"));
    }
    if let Some(revoked) = trust.revoked.as_deref().filter(|f| !f.is_file()) {
        return Err(missing(revoked, "--manifest-revoked"));
    }
    check(&subject, trust, signature, &parsed)
}

/// The object's SSH signature, refusing an unsigned object and any other
/// kind of signature.
fn ssh_signature<'a>(subject: &'a Subject, trust: &Trust) -> Result<(&'a [u8], SshSignature)> {
    let signers = trust.signers.display();
    let Some(signature) = subject.object.signature.as_deref() else {
        return Err(invalid!(
            "{} is not signed, and a signature by a key in {signers} is required \
             (--manifest-signers, or recorded in instance.toml); sign it (git commit -S or \
             git tag -s, with gpg.format=ssh and a key listed there) or select a signed commit \
             or tag",
            subject.long
        ));
    };
    let kind = signature_kind(signature);
    if kind != "ssh" {
        return Err(invalid!(
            "{} carries an {kind} signature, but lava-deploy checks SSH signatures only \
             (gpg.format=ssh) against {signers}; sign it with an SSH key listed there",
            subject.long
        ));
    }
    let parsed = SshSignature::parse(signature).map_err(|why| {
        invalid!(
            "{} carries an SSH signature that cannot be read ({why}); sign it again with a \
             key listed in {signers}",
            subject.long
        )
    })?;
    Ok((signature, parsed))
}

/// What git does: is the signature sound, which principals have its key
/// (at the object's time), and does it verify as one of them.
fn check(
    subject: &Subject,
    trust: &Trust,
    signature: &[u8],
    parsed: &SshSignature,
) -> Result<ManifestSignature> {
    let signers = trust.signers.display();
    let keygen = SshKeygen::default();
    let file = SignatureFile::new(signature)?;
    let payload = &subject.object.payload;
    let sound = keygen.check_novalidate(&file, payload)?;
    // ssh-keygen's own fingerprint where it gives one (for a certificate,
    // that of the key, not of the certificate blob).
    let key = sound.fingerprint().unwrap_or_else(|| parsed.fingerprint());
    if !sound.ok {
        return Err(invalid!(
            "{} has a bad signature by key {key} (ssh-keygen: {}): it was changed after it was \
             signed, or the signature is damaged; do not deploy it",
            subject.long,
            sound.said()
        ));
    }
    let time = subject.object.time.map(crate::core::time::compact_utc);
    let found = keygen.find_principals(&trust.signers, &file, time.as_deref())?;
    let principals: Vec<&str> = match found.ok {
        true => found
            .stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect(),
        false => Vec::new(),
    };
    if principals.is_empty() {
        let said = found.said();
        if said.contains("expired") || said.contains("not yet valid") {
            let at = subject
                .object
                .time
                .map_or_else(|| "now".to_owned(), crate::core::time::rfc3339_of_unix);
            return Err(invalid!(
                "{} is signed by key {key}, which {signers} does not accept at the time of \
                 signing ({at}): it is outside the key's valid-after/valid-before window \
                 (ssh-keygen: {said}); sign it again with a key valid now, or correct the \
                 window in that file",
                subject.long
            ));
        }
        return Err(invalid!(
            "{} is signed by key {key}, which is not in {signers}; if that key is trusted, add \
             it there (`PRINCIPAL namespaces=\"git\" {}`), otherwise do not deploy this manifest",
            subject.long,
            parsed.public_key_line()
        ));
    }
    let as_principal = |principal: &str, revoked: Option<&Path>| {
        let check = Verify {
            allowed_signers: &trust.signers,
            principal,
            revoked,
            time: time.as_deref(),
        };
        keygen.verify(&check, &file, payload)
    };
    let mut refusals = Vec::new();
    for principal in &principals {
        let answer = as_principal(principal, trust.revoked.as_deref())?;
        if answer.ok {
            return Ok(ManifestSignature {
                principal: (*principal).to_owned(),
                key,
                object: subject.label.clone(),
                signers_file: signers.to_string(),
            });
        }
        refusals.push(answer.said());
    }
    // ssh-keygen says nothing particular about a revoked key: ask again
    // without the list to tell that case apart.
    if let Some(revoked) = &trust.revoked {
        if as_principal(principals[0], None)?.ok {
            return Err(invalid!(
                "{} is signed by key {key} ({} in {signers}), which is revoked in {}; sign it \
                 again with a key that is not revoked",
                subject.long,
                principals.join(", "),
                revoked.display()
            ));
        }
    }
    Err(invalid!(
        "{} is signed by key {key} of {} in {signers}, but ssh-keygen refused the signature \
         ({}); check that key's entry (its namespaces= must include \"git\")",
        subject.long,
        principals.join(", "),
        refusals.join("; ")
    ))
}

/// The commit, or the annotated tag when the branch was selected by one
/// (`#TAG`) that leads to this commit: then the tag is what says "this
/// commit is release TAG", so the tag must be signed.
fn subject(git: &GitCache, target: &Target, trust: &Trust) -> Result<Subject> {
    let Target::Git {
        url,
        reference,
        commit,
        spec,
    } = target
    else {
        return Err(invalid!(
            "the built-in manifests carry no signature, but signed manifests are required \
             (signers file {}); select a signed manifest branch with --manifest-branch",
            trust.signers.display()
        ));
    };
    let repo = git.mirror(url)?.open()?;
    let commit = git2::Oid::from_str(commit)
        .map_err(|err| anyhow::anyhow!("bad manifest commit {commit}: {err}"))?;
    if let Some(tag) = reference.filter(|r| !is_full_commit(r)) {
        if let Some((object, target)) = git_signature::annotated_tag(&repo, tag)? {
            if target == commit {
                return Ok(Subject {
                    label: format!("tag {tag} ({})", object.id),
                    long: format!(
                        "the manifest tag {tag} (tag object {}, commit {commit}) of {spec}",
                        object.id
                    ),
                    object,
                });
            }
        }
    }
    Ok(Subject {
        object: git_signature::commit(&repo, commit)?,
        label: format!("commit {commit}"),
        long: format!("the manifest commit {commit} of {spec}"),
    })
}
