//! The one path from a manifest source to a decision, shared by `plan`,
//! `install` and `upgrade`: select the source → load (and check its
//! signature) → the required secrets → resolve → `local/` overrides →
//! the secrets' hashes → diff with the current release → decide.
//!
//! `plan` runs it as a dry run and renders the result; `install` and
//! `upgrade` run it for real and then deploy what it decided. The two
//! modes differ only where the real run must stop early: a required secret
//! that is not set refuses before anything is fetched, while a dry run goes
//! on to show what the release would change.

use super::source::{load, ManifestBranch, Selection, SourceRequest};
use super::Context;
use crate::core::decision::{decide, Action, Decision, Refusal};
use crate::core::error::Result;
use crate::core::lock::{
    diff, secret_diff, service_diff, ComponentChange, LockFile, SecretChange, SettingChange,
};
use crate::core::names::ReleaseName;
use crate::core::record::InstanceRecord;
use crate::store::Instance;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `plan`: every refusal is reported, nothing stops early.
    DryRun,
    /// `install`/`upgrade`: a refusal that must come before any fetch is
    /// returned as the error.
    Write,
}

/// What a command asks of the pipeline.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub action: Action,
    pub source: &'a SourceRequest,
    /// `--retry-failed`: build pins whose release failed, once more.
    pub retry_failed: bool,
}

/// Everything decided before anything is built.
pub struct Prepared {
    /// The manifest source chosen (the request over the record).
    pub selection: Selection,
    pub branch: ManifestBranch,
    /// The lock a new release would have (before the build adds its
    /// environment).
    pub lock: LockFile,
    /// The current release and its lock.
    pub current: Option<(ReleaseName, LockFile)>,
    pub changes: Vec<ComponentChange>,
    pub service: Vec<SettingChange>,
    pub secrets: Vec<SecretChange>,
    /// The instance would follow another manifest branch or file.
    pub source_changed: bool,
    pub decision: Decision,
}

impl Prepared {
    /// Whether the command changes `current` or the instance record.
    pub fn changes_anything(&self) -> bool {
        match &self.decision {
            Decision::Build { .. } => true,
            Decision::UpToDate => self.source_changed,
            Decision::Refused(refusal) => self.source_changed && refusal.records_source(),
        }
    }

    pub fn refusal(&self) -> Option<&Refusal> {
        match &self.decision {
            Decision::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }

    pub fn current_release(&self) -> Option<&ReleaseName> {
        self.current.as_ref().map(|(release, _)| release)
    }
}

/// Runs the pipeline for `instance`, whose record (`None`: nothing
/// recorded yet) the caller has read; under the instance lock for `Write`.
pub fn prepare(
    ctx: &Context,
    instance: &Instance,
    record: Option<&InstanceRecord>,
    request: Request,
    mode: Mode,
) -> Result<Prepared> {
    let selection = Selection::choose(request.source, record.map(|r| &r.source))?;
    let loaded = load(ctx, &selection)?;
    let missing =
        super::secrets::missing_refusal(ctx, instance, &loaded.manifest.service.secrets.required)?;
    if let (Mode::Write, Some(refusal)) = (mode, &missing) {
        return Err(refusal.to_error());
    }
    let mut lock = super::resolve::resolve(ctx, &loaded.branch, &loaded.manifest)?;
    super::overrides::apply(instance, &mut lock)?;
    super::secrets::stamp(instance, &mut lock)?;
    let current = instance.current_lock()?;
    let current_lock = current.as_ref().map(|(_, lock)| lock);
    let empty = InstanceRecord::default();
    let decision = decide(
        request.action,
        current_lock,
        &lock,
        record.unwrap_or(&empty),
        request.retry_failed,
        missing,
    );
    Ok(Prepared {
        source_changed: record.is_some_and(|r| r.source != selection.to_record()),
        changes: diff(current_lock, &lock),
        service: service_diff(current_lock, &lock),
        secrets: secret_diff(current_lock, &lock),
        selection,
        branch: loaded.branch,
        lock,
        current,
        decision,
    })
}
