//! `upgrade NAME` (re-read the manifest branch, switch to a new release only
//! when the resolved lock changed), `plan NAME` (what upgrade would do) and
//! `rebuild NAME` (a new release from the current lock plus local/).

use serde::Serialize;

use super::deploy::{deploy, require_current};
use super::outcome::{tracked, Tracked, Trail};
use super::prepare::{prepare, Mode, Request};
use super::source::{recorded_branch, SourceRequest};
use super::{Context, Locked, DEFAULT_KEEP};
use crate::core::decision::{Action, Decision, Refusal};
use crate::core::error::Result;
use crate::core::lock::{
    diff, secret_diff, ComponentChange, LockedManifest, SecretChange, SettingChange,
};
use crate::core::names::{InstanceName, ReleaseName};
use crate::core::record::InstanceRecord;
use crate::store::Instance;

/// What an upgrade did.
#[derive(Debug, Clone)]
pub struct Upgraded {
    pub instance: Instance,
    /// The release current now.
    pub release: Option<ReleaseName>,
    /// Whether a new release was built and switched to.
    pub built: bool,
    /// The instance now follows another manifest source.
    pub source_changed: bool,
    /// The manifest source it follows.
    pub follows: String,
    /// The components the new release changed (none when not built).
    pub changes: Vec<ComponentChange>,
}

/// What `upgrade` may do beyond the usual.
#[derive(Debug, Clone, Copy, Default)]
pub struct UpgradeOptions {
    /// Build a lock again even though a release with it failed.
    pub retry_failed: bool,
}

pub fn upgrade(
    ctx: &Context,
    name: &InstanceName,
    asked: &SourceRequest,
    options: UpgradeOptions,
) -> Tracked<Upgraded> {
    tracked(ctx, name, |trail| {
        upgrade_tracked(ctx, name, asked, options, trail)
    })
}

fn upgrade_tracked(
    ctx: &Context,
    name: &InstanceName,
    asked: &SourceRequest,
    options: UpgradeOptions,
    trail: &mut Trail,
) -> Result<Upgraded> {
    let Locked {
        instance,
        mut record,
        _lock,
    } = ctx.lock_existing(name, "upgrade", trail)?;
    let request = Request {
        action: Action::Upgrade,
        source: asked,
        retry_failed: options.retry_failed,
    };
    let prepared = prepare(ctx, &instance, Some(&record), request, Mode::Write)?;
    let previous = prepared.current_release().cloned();
    trail.previous = previous.as_ref().map(ToString::to_string);
    trail.release = trail.previous.clone();
    record.source = prepared.selection.to_record();
    let source_changed = prepared.source_changed;
    if !matches!(prepared.decision, Decision::Build { .. }) {
        // A build says so itself, once `current` moved.
        trail.changed = prepared.changes_anything();
    }
    let not_built = |record: &InstanceRecord| -> Result<Upgraded> {
        if source_changed {
            instance.write_record(record)?;
        }
        Ok(Upgraded {
            instance: instance.clone(),
            release: previous.clone(),
            built: false,
            source_changed,
            follows: record.source.branch.clone(),
            changes: Vec::new(),
        })
    };
    match &prepared.decision {
        Decision::UpToDate => return not_built(&record),
        Decision::Refused(refusal) => {
            if refusal.records_source() {
                not_built(&record)?;
            }
            return Err(refusal.to_error());
        }
        Decision::Build {
            retrying: Some(failed),
        } => tracing::info!("building the pins of failed release {failed} again (--retry-failed)"),
        Decision::Build { retrying: None } => {}
    }
    trail.set_changes(&prepared.changes);
    trail.secrets = prepared.secrets.clone();
    let release = deploy(
        ctx,
        &instance,
        &mut record,
        &prepared.lock,
        &prepared.branch,
        "upgrade",
        trail,
    )?;
    let pruned = instance.prune(DEFAULT_KEEP)?;
    if !pruned.is_empty() {
        tracing::info!("pruned old releases: {}", pruned.join(", "));
    }
    Ok(Upgraded {
        instance,
        release: Some(release),
        built: true,
        source_changed,
        follows: record.source.branch.clone(),
        changes: prepared.changes,
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
    /// Every component, changed or not (the CLI renders them).
    #[serde(skip)]
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
    /// The command `plan` answers for: `install` while the instance has
    /// no current release, else `upgrade`.
    pub action: Action,
    /// Why that command would stop without building, with the exit code
    /// and the message it would exit with; `null`: it would not.
    pub refusal: Option<PlanRefusal>,
}

/// A refusal as `plan` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRefusal {
    /// `missing-secrets` or `failed-before`.
    pub kind: &'static str,
    pub exit_code: u8,
    /// The command's error message, word for word.
    pub error: String,
}

impl From<&Refusal> for PlanRefusal {
    fn from(refusal: &Refusal) -> Self {
        PlanRefusal {
            kind: refusal.kind(),
            exit_code: refusal.exit_code(),
            error: refusal.message(),
        }
    }
}

impl Plan {
    /// How many components would change.
    pub fn change_count(&self) -> usize {
        self.components.iter().filter(|c| c.is_change()).count()
    }
}

pub fn plan(
    ctx: &Context,
    name: &InstanceName,
    asked: &SourceRequest,
    retry_failed: bool,
) -> Result<Plan> {
    let instance = ctx.instance(name);
    let record = instance
        .exists()
        .then(|| instance.read_record())
        .transpose()?;
    // The command that would run: what the Ansible module runs too.
    let action = match instance.current_release() {
        Some(_) => Action::Upgrade,
        None => Action::Install,
    };
    let request = Request {
        action,
        source: asked,
        retry_failed,
    };
    let prepared = prepare(ctx, &instance, record.as_ref(), request, Mode::DryRun)?;
    let (missing_secrets, missing_secret_commands) = match prepared.refusal() {
        Some(Refusal::MissingSecrets { keys, commands, .. }) => (keys.clone(), commands.clone()),
        _ => Default::default(),
    };
    Ok(Plan {
        instance: instance.name.to_string(),
        path: instance.dir.display().to_string(),
        installed: record.is_some(),
        action,
        up_to_date: prepared.decision == Decision::UpToDate,
        changed: prepared.changes_anything(),
        source_changed: prepared.source_changed,
        refusal: prepared.refusal().map(PlanRefusal::from),
        current: prepared.current_release().cloned(),
        components: prepared.changes,
        service: prepared.service,
        secrets: prepared.secrets,
        missing_secrets,
        missing_secret_commands,
        manifest: prepared.lock.manifest,
    })
}

pub fn rebuild(ctx: &Context, name: &InstanceName) -> Tracked<ReleaseName> {
    tracked(ctx, name, |trail| {
        let mut locked = ctx.lock_existing(name, "rebuild", trail)?;
        rebuild_locked(ctx, &mut locked, "rebuild", trail)
    })
}

/// Rebuilds while the caller holds the instance lock (and has recovered
/// what an interrupted run left).
pub fn rebuild_locked(
    ctx: &Context,
    locked: &mut Locked,
    command: &str,
    trail: &mut Trail,
) -> Result<ReleaseName> {
    let Locked {
        instance, record, ..
    } = locked;
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
    trail.set_changes(&diff(Some(&before), &lock));
    trail.secrets = secret_diff(Some(&before), &lock);
    deploy(ctx, instance, record, &lock, &branch, command, trail)
}
