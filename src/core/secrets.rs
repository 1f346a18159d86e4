//! An instance's secrets as values: which keys are allowed, the file that
//! holds them (`instances/<name>/secrets`, TOML so any value round-trips),
//! the keyed hash the lock keeps instead of a value, and the redaction of
//! values from hook output. The store reads and writes the files.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::service::HOOK_VARIABLES;

/// A secret's key: an environment variable name that lava-deploy does not
/// set itself (`LAVA_WORKER_TOKEN` is fine, `LAVA_INSTANCE` is not).
pub fn validate_key(key: &str) -> Result<(), String> {
    let valid = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "{key:?} is not a valid secret key: a secret is an environment variable, so its \
             key is letters, digits and _ and does not start with a digit (like DATABASE_URL)"
        ));
    }
    if let Some(reserved) = RESERVED.iter().chain(HOOK_VARIABLES).find(|v| **v == key) {
        return Err(format!(
            "{reserved} cannot be a secret: lava-deploy sets it for every hook itself \
             (reserved: PATH, {})",
            HOOK_VARIABLES.join(", ")
        ));
    }
    Ok(())
}

/// Set by lava-deploy for every hook besides the `LAVA_*` variables.
const RESERVED: &[&str] = &["PATH"];

/// A value that can be stored and exported: UTF-8 (TOML keeps text) without
/// NUL (no environment variable can hold one).
pub fn validate_value(key: &str, value: &[u8]) -> Result<String, String> {
    if value.contains(&0) {
        return Err(format!(
            "the value of secret {key} contains a NUL byte, which no environment variable can hold"
        ));
    }
    String::from_utf8(value.to_vec())
        .map_err(|_| format!("the value of secret {key} is not UTF-8 text"))
}

/// What `secret set` stores for the bytes it read: all of them, except the
/// trailing newline of a single-line value (`echo x | secret set`).
pub fn value_from_input(input: &[u8]) -> &[u8] {
    let body = input
        .strip_suffix(b"\r\n")
        .or_else(|| input.strip_suffix(b"\n"));
    match body {
        Some(body) if !body.contains(&b'\n') => body,
        _ => input,
    }
}

/// The secrets file: key → value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretValues {
    pub values: BTreeMap<String, String>,
}

const FILE_HEADER: &str = "# Secrets of this instance, written by `lava-deploy secret set`. \
Exported to its hooks and `exec`; never copied into a release.\n";

impl SecretValues {
    pub fn parse(text: &str) -> Result<Self, String> {
        let values: BTreeMap<String, String> =
            toml::from_str(text).map_err(|err| format!("not a secrets file: {err}"))?;
        Ok(SecretValues { values })
    }

    pub fn to_toml(&self) -> String {
        format!(
            "{FILE_HEADER}{}",
            toml::to_string(&self.values).expect("strings are TOML")
        )
    }

    /// The keyed hash of every value, for the lock.
    pub fn hashes(&self, hash_key: &[u8]) -> BTreeMap<String, String> {
        self.values
            .iter()
            .map(|(key, value)| (key.clone(), keyed_hash(hash_key, key, value)))
            .collect()
    }

    /// The values output must not show.
    pub fn redactor(&self) -> Redactor {
        Redactor::new(self.values.values().map(String::as_str))
    }
}

/// `hmac-sha256:<hex>` of `key=value` under the instance's own hash key:
/// equal values in two instances hash differently, and a short value cannot
/// be found from the lock by trying candidates without the key.
pub fn keyed_hash(hash_key: &[u8], key: &str, value: &str) -> String {
    let message = format!("{key}={value}");
    format!(
        "hmac-sha256:{}",
        hex::encode(hmac_sha256(hash_key, message.as_bytes()))
    )
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Values shorter than this are not redacted: a 1–3 byte secret would turn
/// every `a` or `10` of a log into `***`, and is no secret anyway.
pub const REDACT_MIN_LEN: usize = 4;

/// What replaces a secret's value in output.
pub const REDACTED: &str = "***";

/// Replaces every occurrence of a secret's value by `***`, also in output
/// that arrives in pieces (a value split across two reads is still found).
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so that a value containing another is hidden whole.
    values: Vec<Vec<u8>>,
    pending: Vec<u8>,
}

impl Redactor {
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut values: Vec<Vec<u8>> = values
            .into_iter()
            .filter(|v| v.len() >= REDACT_MIN_LEN)
            .map(|v| v.as_bytes().to_vec())
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        values.dedup();
        Redactor {
            values,
            pending: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `bytes` with every value hidden, all at once.
    pub fn redact(&self, bytes: &[u8]) -> Vec<u8> {
        let mut fresh = Redactor {
            values: self.values.clone(),
            pending: Vec::new(),
        };
        let mut out = fresh.push(bytes);
        out.extend(fresh.finish());
        out
    }

    /// Text with every value hidden.
    pub fn redact_text(&self, text: &str) -> String {
        if self.values.is_empty() {
            return text.to_owned();
        }
        String::from_utf8_lossy(&self.redact(text.as_bytes())).into_owned()
    }

    /// The next piece of a stream: what can be shown now. The end of the
    /// piece that may be the start of a value is kept until more comes.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(bytes);
        self.drain(false)
    }

    /// The end of the stream: everything still kept.
    pub fn finish(&mut self) -> Vec<u8> {
        self.drain(true)
    }

    fn drain(&mut self, at_end: bool) -> Vec<u8> {
        let buffer = std::mem::take(&mut self.pending);
        let mut out = Vec::with_capacity(buffer.len());
        let mut at = 0;
        while at < buffer.len() {
            let rest = &buffer[at..];
            if !at_end
                && self
                    .values
                    .iter()
                    .any(|v| v.len() > rest.len() && v.starts_with(rest))
            {
                // Perhaps a value that the next piece completes.
                self.pending = rest.to_vec();
                return out;
            }
            match self.values.iter().find(|v| rest.starts_with(v)) {
                Some(value) => {
                    out.extend_from_slice(REDACTED.as_bytes());
                    at += value.len();
                }
                None => {
                    out.push(rest[0]);
                    at += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_variable_names_lava_deploy_does_not_set() {
        for good in ["DATABASE_URL", "_x", "LAVA_WORKER_TOKEN", "a1"] {
            assert!(validate_key(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "../x",
            "A=B",
            "1A",
            "A B",
            "LAVA_INSTANCE",
            "LAVA_PHASE",
            "PATH",
        ] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn single_line_input_loses_its_newline_and_nothing_else_does() {
        assert_eq!(value_from_input(b"tok\n"), b"tok");
        assert_eq!(value_from_input(b"tok"), b"tok");
        assert_eq!(value_from_input(b"a\nb\n"), b"a\nb\n");
        assert_eq!(value_from_input(b"tok\n\n"), b"tok\n\n");
    }

    #[test]
    fn any_text_round_trips() {
        let mut secrets = SecretValues::default();
        let long: String = (0..400)
            .map(|i| format!("line {i} = \"q\" 'x' \\ \t\n"))
            .collect();
        secrets.values.insert("A".into(), long);
        secrets
            .values
            .insert("B".into(), "x=y\r\n\u{7f}\u{1b}[0m".into());
        assert_eq!(SecretValues::parse(&secrets.to_toml()).unwrap(), secrets);
    }

    /// RFC 4231, test case 2.
    #[test]
    fn hmac_is_rfc_4231() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn values_are_redacted_across_pieces() {
        let redactor = Redactor::new(["s3cret", "abc", "s3cret-longer"]);
        assert_eq!(
            redactor.redact(b"a s3cret b s3cret-longer abc"),
            b"a *** b *** abc"
        );
        let mut stream = redactor.clone();
        let mut out = stream.push(b"x s3c");
        out.extend(stream.push(b"ret y s3"));
        out.extend(stream.finish());
        assert_eq!(out, b"x *** y s3");
    }
}
