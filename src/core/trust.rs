//! Signed manifests: what a verified signature is recorded as, how git
//! splits a signed tag, and an SSH signature (SSHSIG) read far enough to
//! name its key. Verifying is OpenSSH's job (`infra::ssh_keygen`): nothing
//! here checks a signature.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Who signed the manifest, as `lava.lock` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ManifestSignature {
    /// The allowed-signers principal whose key made the signature.
    pub principal: String,
    /// The key's fingerprint, `SHA256:…` as ssh-keygen prints it.
    pub key: String,
    /// What carried the signature: `commit <id>` or `tag <name> (<id>)`.
    pub object: String,
    /// The allowed-signers file it was verified against.
    pub signers_file: String,
}

impl ManifestSignature {
    /// `P (key SHA256:…) on tag v1 (…)`, one line.
    pub fn describe(&self) -> String {
        format!("{} (key {}) on {}", self.principal, self.key, self.object)
    }
}

/// The armour line that starts an SSH signature.
pub const SSH_SIGNATURE_BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";
const SSH_SIGNATURE_END: &str = "-----END SSH SIGNATURE-----";

/// The armour lines git recognises as the start of a signature appended
/// to a tag message (gpg-interface.c), SSH and the others: a tag signed
/// with OpenPGP must be told apart from an unsigned one.
const SIGNATURE_BEGINS: &[&str] = &[
    SSH_SIGNATURE_BEGIN,
    "-----BEGIN PGP SIGNATURE-----",
    "-----BEGIN PGP MESSAGE-----",
    "-----BEGIN SIGNED MESSAGE-----",
];

/// Splits a tag object's bytes into what was signed and the signature, as
/// git does: the signature starts at the last line that opens one.
pub fn split_tag_signature(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    let mut start = None;
    let mut at = 0;
    while at < data.len() {
        let line = &data[at..];
        if SIGNATURE_BEGINS
            .iter()
            .any(|b| line.starts_with(b.as_bytes()))
        {
            start = Some(at);
        }
        at += line
            .iter()
            .position(|&b| b == b'\n')
            .map_or(line.len(), |eol| eol + 1);
    }
    match start {
        Some(start) => (&data[..start], Some(&data[start..])),
        None => (data, None),
    }
}

/// Whether a signature is an SSH one, and if not what it is (for the error).
pub fn signature_kind(signature: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(signature);
    let text = text.trim_start();
    if text.starts_with(SSH_SIGNATURE_BEGIN) {
        "ssh"
    } else if text.starts_with("-----BEGIN PGP") {
        "OpenPGP"
    } else if text.starts_with("-----BEGIN SIGNED MESSAGE-----") {
        "X.509"
    } else {
        "unknown"
    }
}

/// The parts of an SSHSIG blob (OpenSSH's PROTOCOL.sshsig) that say who
/// signed: the public key and the namespace. The signature bytes are not
/// looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSignature {
    /// `ssh-ed25519`, `ssh-rsa`, …
    pub key_type: String,
    /// The public key blob in SSH wire format.
    pub public_key: Vec<u8>,
    pub namespace: String,
}

impl SshSignature {
    /// Reads an armoured SSH signature.
    pub fn parse(armoured: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(armoured).map_err(|_| "it is not text".to_owned())?;
        let body = text
            .trim()
            .strip_prefix(SSH_SIGNATURE_BEGIN)
            .and_then(|t| t.trim_end().strip_suffix(SSH_SIGNATURE_END))
            .ok_or("it lacks the SSH SIGNATURE armour")?;
        let compact: String = body.split_whitespace().collect();
        let blob = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|err| format!("its base64 is invalid ({err})"))?;
        let mut reader = Reader(&blob);
        if reader.take(6)? != b"SSHSIG" {
            return Err("it does not start with SSHSIG".to_owned());
        }
        let version = u32::from_be_bytes(reader.take(4)?.try_into().expect("4 bytes"));
        if version != 1 {
            return Err(format!("its version is {version}, not 1"));
        }
        let public_key = reader.string()?.to_vec();
        let namespace = String::from_utf8_lossy(reader.string()?).into_owned();
        let key_type = String::from_utf8_lossy(Reader(&public_key).string()?).into_owned();
        Ok(SshSignature {
            key_type,
            public_key,
            namespace,
        })
    }

    /// `ssh-ed25519 AAAA…`: the key as an allowed-signers line names it.
    pub fn public_key_line(&self) -> String {
        format!(
            "{} {}",
            self.key_type,
            base64::engine::general_purpose::STANDARD.encode(&self.public_key)
        )
    }

    /// `SHA256:<base64 without padding>`: what `ssh-keygen -l` and
    /// `ssh-keygen -Y verify` print for the key.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(&self.public_key);
        format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
        )
    }
}

/// SSH wire format: fixed bytes and length-prefixed strings.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("it is cut short".to_owned());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn string(&mut self) -> Result<&'a [u8], String> {
        let len = u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes"));
        self.take(usize::try_from(len).map_err(|_| "a length overflows".to_owned())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by `git tag -s` with an ed25519 key whose public key is
    /// `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINw9Kj43JhM8EwSiUpjnwZUqUYHXsWHMLnBaMtsjdqCM`;
    /// `ssh-keygen -Y check-novalidate` names it
    /// SHA256:muqpJYv/2A8Re3eGl/RP+R8oz1e9WRbVSVABCjDZgik.
    const SIGNATURE: &str = "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg3D0qPjcmEzwTBKJSmOfBlSpRgd
exYcwucFoy2yN2oIwAAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5
AAAAQBRt2nPhgllmUae1FNDuZ0Ph16wTKqo0M5QGbsRk/9AyFu7dkbv91pobACYKBjxQ37
M210jhbn6hA6mtGDcI5wg=
-----END SSH SIGNATURE-----
";

    #[test]
    fn an_ssh_signature_names_its_key_like_ssh_keygen() {
        let parsed = SshSignature::parse(SIGNATURE.as_bytes()).unwrap();
        assert_eq!(parsed.key_type, "ssh-ed25519");
        assert_eq!(parsed.namespace, "git");
        assert_eq!(
            parsed.public_key_line(),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINw9Kj43JhM8EwSiUpjnwZUqUYHXsWHMLnBaMtsjdqCM"
        );
        assert_eq!(
            parsed.fingerprint(),
            "SHA256:muqpJYv/2A8Re3eGl/RP+R8oz1e9WRbVSVABCjDZgik"
        );
        assert!(SshSignature::parse(
            b"-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----"
        )
        .is_err());
        assert!(SshSignature::parse(b"garbage").is_err());
    }

    #[test]
    fn a_tag_is_split_at_its_last_signature_line() {
        let tag =
            format!("object 1743\ntype commit\ntag v1\ntagger A <a@x> 1 +0000\n\nv1\n{SIGNATURE}");
        let (payload, signature) = split_tag_signature(tag.as_bytes());
        assert_eq!(
            payload,
            b"object 1743\ntype commit\ntag v1\ntagger A <a@x> 1 +0000\n\nv1\n"
        );
        assert_eq!(signature, Some(SIGNATURE.as_bytes()));
        assert_eq!(signature_kind(signature.unwrap()), "ssh");
        let unsigned = b"object 1743\ntype commit\ntag v1\n\nv1\n";
        assert_eq!(split_tag_signature(unsigned), (&unsigned[..], None));
        let pgp = b"x\n\nm\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n";
        assert_eq!(
            signature_kind(split_tag_signature(pgp).1.unwrap()),
            "OpenPGP"
        );
    }
}
