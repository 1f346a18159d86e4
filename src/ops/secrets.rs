//! `secret set|list|rm`, and what deployments do with the secrets: every
//! `[secrets] required` key must be set before anything is fetched, and the
//! lock of a release records a keyed hash per secret (never a value), so a
//! changed secret is a change `upgrade` deploys.

use super::Context;
use crate::core::decision::Refusal;
use crate::core::error::{Error, Result};
use crate::core::lock::LockFile;
use crate::core::names::InstanceName;
use crate::core::secrets::{validate_key, validate_value, SecretValues};
use crate::store::Instance;

/// `secret set NAME KEY`: stores `value` (the bytes read, as
/// `core::secrets::value_from_input` left them). Works before the first
/// install: the instance directory then holds only its secrets. Returns
/// whether the stored value changed.
pub fn set(ctx: &Context, name: &InstanceName, key: &str, value: &[u8]) -> Result<bool> {
    let instance = ctx.instance(name);
    validate_key(key).map_err(Error::Invalid)?;
    let value = validate_value(key, value).map_err(Error::Invalid)?;
    ctx.root.ensure_writable()?;
    let _lock = instance.lock("secret set", ctx.settings.wait)?;
    let mut secrets = instance.read_secrets()?;
    // Made now, under the lock, so that reading a lock's hashes never has to.
    instance.secrets_hash_key()?;
    if secrets.values.get(key) == Some(&value) {
        return Ok(false);
    }
    secrets.values.insert(key.to_owned(), value);
    instance.write_secrets(&secrets)?;
    Ok(true)
}

/// `secret set NAME KEY --check`: whether `set` would change the stored
/// value, with nothing written (no lock taken, no directory made): what
/// Ansible's check mode asks without the value ever being shown.
pub fn would_set(ctx: &Context, name: &InstanceName, key: &str, value: &[u8]) -> Result<bool> {
    let instance = ctx.instance(name);
    validate_key(key).map_err(Error::Invalid)?;
    let value = validate_value(key, value).map_err(Error::Invalid)?;
    Ok(instance.read_secrets()?.values.get(key) != Some(&value))
}

/// `secret rm NAME KEY`: whether there was such a secret.
pub fn remove(ctx: &Context, name: &InstanceName, key: &str) -> Result<bool> {
    let instance = known_instance(ctx, name)?;
    validate_key(key).map_err(Error::Invalid)?;
    let _lock = instance.lock("secret rm", ctx.settings.wait)?;
    let mut secrets = instance.read_secrets()?;
    if secrets.values.remove(key).is_none() {
        return Ok(false);
    }
    instance.write_secrets(&secrets)?;
    Ok(true)
}

/// `secret list NAME`: the keys, sorted.
pub fn list(ctx: &Context, name: &InstanceName) -> Result<Vec<String>> {
    let instance = known_instance(ctx, name)?;
    Ok(instance.read_secrets()?.values.into_keys().collect())
}

/// An instance that is installed or has secrets set (`secret list|rm`,
/// `remove`); otherwise the error of an unknown instance.
pub fn known_instance(ctx: &Context, name: &InstanceName) -> Result<Instance> {
    let instance = ctx.instance(name);
    if instance.exists() || instance.secrets_path().is_file() {
        return Ok(instance);
    }
    ctx.existing_instance(name).map(|(instance, _)| instance)
}

/// The required keys the instance does not have.
pub fn missing(instance: &Instance, required: &[String]) -> Result<Vec<String>> {
    let secrets = instance.read_secrets()?;
    Ok(required
        .iter()
        .filter(|key| !secrets.values.contains_key(*key))
        .cloned()
        .collect())
}

/// The refusal for the `required` keys the instance does not have, with
/// the command that sets each.
pub fn missing_refusal(
    ctx: &Context,
    instance: &Instance,
    required: &[String],
) -> Result<Option<Refusal>> {
    let keys = missing(instance, required)?;
    if keys.is_empty() {
        return Ok(None);
    }
    Ok(Some(Refusal::MissingSecrets {
        instance: instance.name.to_string(),
        commands: keys
            .iter()
            .map(|key| set_command(ctx, instance, key))
            .collect(),
        keys,
    }))
}

/// Exit 2 unless every key of `required` is set. Called before anything is
/// fetched or built.
pub fn require(ctx: &Context, instance: &Instance, required: &[String]) -> Result<()> {
    match missing_refusal(ctx, instance, required)? {
        Some(refusal) => Err(refusal.to_error()),
        None => Ok(()),
    }
}

/// `lava-deploy [--root DIR] secret set NAME KEY`, runnable as it is.
pub fn set_command(ctx: &Context, instance: &Instance, key: &str) -> String {
    let root = &ctx.settings.root;
    let root = if root.as_path() == std::path::Path::new(super::DEFAULT_ROOT) {
        String::new()
    } else {
        format!("--root {} ", shell_word(&root.to_string_lossy()))
    };
    format!("lava-deploy {root}secret set {} {key}", instance.name)
}

fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Records in `lock` the keyed hash of each secret the instance has now.
pub fn stamp(instance: &Instance, lock: &mut LockFile) -> Result<()> {
    let secrets = instance.read_secrets()?;
    lock.service.secrets.hashes = if secrets.values.is_empty() {
        Default::default()
    } else {
        secrets.hashes(&instance.secrets_hash_key()?)
    };
    Ok(())
}

/// The instance's secrets, for the hooks and `exec`.
pub fn values(instance: &Instance) -> Result<SecretValues> {
    Ok(instance.read_secrets()?)
}
