//! What a changing command did, for automation: `--json` prints this, also
//! when the command fails (then `error` says why).

use serde::Serialize;

use super::Context;
use crate::core::lock::{Change, ComponentChange, LockedManifest, SecretChange};
use crate::core::record::SourceRecord;
use crate::core::service::Phase;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub instance: String,
    pub action: String,
    /// `current` or the instance record changed.
    pub changed: bool,
    /// The release `current` points at when the command ends.
    pub release: Option<String>,
    /// The release it pointed at before.
    pub previous: Option<String>,
    pub changes: Vec<ReportChange>,
    /// Secrets added, removed or changed by the new release (keys only).
    pub secrets: Vec<SecretChange>,
    pub hooks: Vec<HookRun>,
    pub rolled_back: bool,
    pub failed_release: Option<String>,
    pub error: Option<String>,
    /// The manifest (branch, commit, file) of the release `current` points
    /// at when the command ends: what a lab compares across hosts.
    pub manifest: Option<LockedManifest>,
    /// The manifest source the instance follows now.
    pub follows: Option<SourceRecord>,
    /// The instance directory.
    pub path: Option<String>,
}

/// One component that changed: `old`/`new` are `null` when it was added
/// or removed.
#[derive(Debug, Clone, Serialize)]
pub struct ReportChange {
    pub component: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One hook command that ran.
#[derive(Debug, Clone, Serialize)]
pub struct HookRun {
    pub phase: Phase,
    pub release: String,
    pub command: String,
    pub ok: bool,
    pub seconds: f64,
}

impl Report {
    pub fn new(instance: &str, action: &str) -> Self {
        Report {
            instance: instance.to_owned(),
            action: action.to_owned(),
            ..Report::default()
        }
    }

    /// Fills in where the instance stands after the command, read from the
    /// store, so that it is also true after a failure or a rollback. An
    /// instance that is not there (a first install that failed) has none.
    pub fn settle(&mut self, ctx: &Context) {
        let Ok(instance) = ctx.instance(&self.instance) else {
            return;
        };
        self.path = Some(instance.dir.display().to_string());
        if !instance.exists() {
            return;
        }
        self.follows = instance.read_record().ok().map(|record| record.source);
        self.manifest = instance
            .current_lock()
            .ok()
            .flatten()
            .map(|(_, lock)| lock.manifest);
    }

    /// The components that changed, from a lock diff.
    pub fn set_changes(&mut self, changes: &[ComponentChange]) {
        self.changes = changes
            .iter()
            .filter_map(|c| {
                let (old, new) = match &c.change {
                    Change::Added { new } => (None, Some(new.clone())),
                    Change::Removed { old } => (Some(old.clone()), None),
                    Change::Changed { old, new } => (Some(old.clone()), Some(new.clone())),
                    Change::Unchanged { .. } => return None,
                };
                Some(ReportChange {
                    component: c.component.to_string(),
                    old,
                    new,
                })
            })
            .collect();
    }
}
