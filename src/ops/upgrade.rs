//! `upgrade NAME` (re-read the manifest branch, switch to a new release only
//! when the resolved lock changed), `plan NAME` (what upgrade would do) and
//! `rebuild NAME` (a new release from the current lock plus local/).

use serde::Serialize;

use super::deploy::{deploy, recover_interrupted, require_current};
use super::report::Report;
use super::source::{load, recorded_branch, Selection, SourceRequest};
use super::{Context, DEFAULT_KEEP};
use crate::core::error::Result;
use crate::core::lock::{
    diff, secret_diff, service_diff, ComponentChange, LockedManifest, SecretChange, SettingChange,
};
use crate::core::names::ReleaseName;
use crate::store::Instance;

/// What an upgrade did.
#[derive(Debug, Clone)]
pub struct Upgraded {
    pub instance: Instance,
    /// The release current now.
    pub release: Option<ReleaseName>,
    pub previous: Option<ReleaseName>,
    /// Whether a new release was built and switched to.
    pub built: bool,
    /// The instance now follows another manifest source.
    pub source_changed: bool,
    /// The manifest source it follows.
    pub follows: String,
    pub changes: Vec<ComponentChange>,
    /// Old releases removed afterwards.
    pub pruned: Vec<String>,
}

/// What `upgrade` may do beyond the usual.
#[derive(Debug, Clone, Copy, Default)]
pub struct UpgradeOptions {
    /// Build a lock again even though a release with it failed.
    pub retry_failed: bool,
}

pub fn upgrade(
    ctx: &Context,
    name: &str,
    asked: &SourceRequest,
    options: UpgradeOptions,
    report: &mut Report,
) -> Result<Upgraded> {
    let (instance, _) = ctx.existing_instance(name)?;
    let _lock = instance.lock("upgrade", ctx.settings.wait)?;
    let mut record = instance.read_record()?;
    recover_interrupted(ctx, &instance, &mut record, report)?;
    let selection = Selection::choose(asked, Some(&record.source))?;
    let loaded = load(ctx, &selection)?;
    super::secrets::require(ctx, &instance, &loaded.manifest.service.secrets.required)?;
    let mut lock = super::resolve::resolve(ctx, &loaded.branch, &loaded.manifest)?;
    super::overrides::apply(&instance, &mut lock)?;
    super::secrets::stamp(&instance, &mut lock)?;
    let source_changed = record.source != selection.to_record();
    record.source = selection.to_record();

    let current = instance.current_lock()?;
    let changes = diff(current.as_ref().map(|(_, l)| l), &lock);
    let previous = current.as_ref().map(|(release, _)| release.clone());
    report.previous = previous.as_ref().map(ToString::to_string);
    report.release = report.previous.clone();
    report.set_changes(&changes);
    report.secrets = secret_diff(current.as_ref().map(|(_, l)| l), &lock);
    if let Some((_, current_lock)) = &current {
        if current_lock.same_build(&lock) {
            report.changes.clear();
            report.secrets.clear();
            if source_changed {
                instance.write_record(&record)?;
                report.changed = true;
            }
            return Ok(Upgraded {
                instance,
                release: previous.clone(),
                previous,
                built: false,
                source_changed,
                follows: record.source.branch.clone(),
                changes,
                pruned: Vec::new(),
            });
        }
    }
    if let Some(failed) = record.failed_build(&lock.build_id()) {
        if !options.retry_failed {
            if source_changed {
                instance.write_record(&record)?;
                report.changed = true;
            }
            return Err(crate::core::error::Error::Failed(anyhow::anyhow!(
                "release {} had exactly these pins and failed ({}); upgrade does not build \
                 them again: change the manifest, or pass --retry-failed to try once more",
                failed.name,
                failed.failed.as_deref().unwrap_or("failed")
            )));
        }
        tracing::info!(
            "building the pins of failed release {} again (--retry-failed)",
            failed.name
        );
    }
    for change in changes.iter().filter(|c| c.is_change()) {
        tracing::info!("{}", change.describe());
    }
    for change in &report.secrets {
        tracing::info!("{}", change.describe());
    }
    let release = deploy(
        ctx,
        &instance,
        &mut record,
        &lock,
        &loaded.branch,
        "upgrade",
        report,
    )?;
    let pruned = instance.prune(DEFAULT_KEEP)?;
    if !pruned.is_empty() {
        tracing::info!("pruned old releases: {}", pruned.join(", "));
    }
    Ok(Upgraded {
        instance,
        release: Some(release),
        previous,
        built: true,
        source_changed,
        follows: record.source.branch.clone(),
        changes,
        pruned,
    })
}

/// What `upgrade` would change, or for an instance not installed yet, what
/// `install` would build.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub instance: String,
    /// The instance directory (there or not).
    pub path: String,
    /// The instance exists (`false`: everything below is what `install`
    /// would do).
    pub installed: bool,
    pub current: Option<ReleaseName>,
    pub manifest: LockedManifest,
    pub up_to_date: bool,
    /// `upgrade` (or `install`) would change `current` or the instance
    /// record: a new release, or only the manifest source it follows.
    pub changed: bool,
    /// The instance would follow another manifest branch or file.
    pub source_changed: bool,
    pub components: Vec<ComponentChange>,
    /// `[shared]`, `[environment]`, `[hooks]` and `[secrets] required`
    /// settings that would change.
    pub service: Vec<SettingChange>,
    /// Secrets added, removed or changed since the current release (keys only).
    pub secrets: Vec<SecretChange>,
    /// `[secrets] required` keys the instance does not have: `install` and
    /// `upgrade` would stop (exit 2) until they are set.
    pub missing_secrets: Vec<String>,
    /// The command that sets each missing secret.
    pub missing_secret_commands: Vec<String>,
}

impl Plan {
    /// How many components would change.
    pub fn change_count(&self) -> usize {
        self.components.iter().filter(|c| c.is_change()).count()
    }
}

pub fn plan(ctx: &Context, name: &str, asked: &SourceRequest) -> Result<Plan> {
    let instance = ctx.instance(name)?;
    let record = instance
        .exists()
        .then(|| instance.read_record())
        .transpose()?;
    let selection = Selection::choose(asked, record.as_ref().map(|r| &r.source))?;
    let loaded = load(ctx, &selection)?;
    let missing_secrets =
        super::secrets::missing(&instance, &loaded.manifest.service.secrets.required)?;
    let mut lock = super::resolve::resolve(ctx, &loaded.branch, &loaded.manifest)?;
    super::overrides::apply(&instance, &mut lock)?;
    super::secrets::stamp(&instance, &mut lock)?;
    let current = instance.current_lock()?;
    let up_to_date = current.as_ref().is_some_and(|(_, l)| l.same_build(&lock));
    let source_changed = record
        .as_ref()
        .is_some_and(|r| r.source != selection.to_record());
    Ok(Plan {
        instance: instance.name.to_string(),
        path: instance.dir.display().to_string(),
        installed: record.is_some(),
        up_to_date,
        changed: !up_to_date || source_changed,
        source_changed,
        current: current.as_ref().map(|(r, _)| r.clone()),
        components: diff(current.as_ref().map(|(_, l)| l), &lock),
        service: service_diff(current.as_ref().map(|(_, l)| l), &lock),
        secrets: secret_diff(current.as_ref().map(|(_, l)| l), &lock),
        missing_secret_commands: missing_secrets
            .iter()
            .map(|key| super::secrets::set_command(ctx, &instance, key))
            .collect(),
        missing_secrets,
        manifest: lock.manifest,
    })
}

pub fn rebuild(ctx: &Context, name: &str, report: &mut Report) -> Result<ReleaseName> {
    let (instance, _) = ctx.existing_instance(name)?;
    let _lock = instance.lock("rebuild", ctx.settings.wait)?;
    rebuild_locked(ctx, &instance, "rebuild", report)
}

/// Rebuilds while the caller holds the instance lock.
pub fn rebuild_locked(
    ctx: &Context,
    instance: &Instance,
    command: &str,
    report: &mut Report,
) -> Result<ReleaseName> {
    let mut record = instance.read_record()?;
    recover_interrupted(ctx, instance, &mut record, report)?;
    let (current, mut lock) = require_current(instance)?;
    super::secrets::require(ctx, instance, &lock.service.secrets.required)?;
    tracing::info!("rebuilding from release {current}");
    let mut branch = recorded_branch(ctx, &lock)?;
    if let Some(trust) = super::trust::recorded(&record.source)? {
        branch.verify(&ctx.git, &trust)?;
        lock.manifest.signature = branch.signature.clone();
    }
    lock.environment = None;
    let before = lock.clone();
    super::overrides::apply(instance, &mut lock)?;
    // The secrets as they are now.
    super::secrets::stamp(instance, &mut lock)?;
    report.set_changes(&diff(Some(&before), &lock));
    report.secrets = secret_diff(Some(&before), &lock);
    deploy(ctx, instance, &mut record, &lock, &branch, command, report)
}
