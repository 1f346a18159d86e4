//! What a changing command did, handed back whole: the typed result with
//! its [`Trail`] on success, or the error with the trail so far on failure
//! (a rollback, the hooks that ran, the release that failed). The CLI
//! builds its `--json` report from this, in one place; `tracked` appends
//! the command's line to the instance's history before its lock goes.

use serde::Serialize;

use super::Context;
use crate::core::error::Error;
use crate::core::history::CheckRun;
use crate::core::lock::{ComponentChange, LockedManifest, SecretChange};
use crate::core::names::InstanceName;
use crate::core::record::SourceRecord;
use crate::core::service::Phase;

/// What happened while the command ran: filled as the deployment and its
/// hooks go.
#[derive(Debug, Clone, Default)]
pub struct Trail {
    /// `current` or the instance record changed.
    pub changed: bool,
    /// The release `current` points at when the command ends.
    pub release: Option<String>,
    /// The release it pointed at before.
    pub previous: Option<String>,
    /// The components that changed.
    pub changes: Vec<ComponentChange>,
    /// Secrets added, removed or changed by the new release (keys only).
    pub secrets: Vec<SecretChange>,
    pub hooks: Vec<HookRun>,
    pub rolled_back: bool,
    pub failed_release: Option<String>,
    /// Releases removed (`prune`).
    pub removed: Vec<String>,
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

impl Trail {
    /// What the history keeps of it.
    pub fn summary(&self, commit: Option<String>) -> super::history::Summary {
        super::history::Summary {
            changed: self.changed,
            rolled_back: self.rolled_back,
            failed_release: self.failed_release.clone(),
            check: self.last_check(),
            removed: self.removed.clone(),
            commit,
        }
    }

    /// The last health check: the check runs of one release at the end of
    /// its hooks (earlier attempts of a retried check are not kept).
    fn last_check(&self) -> Option<CheckRun> {
        let last = self.hooks.iter().rposition(|h| h.phase == Phase::Check)?;
        let release = &self.hooks[last].release;
        let runs: Vec<&HookRun> = self.hooks[..=last]
            .iter()
            .rev()
            .take_while(|h| h.phase == Phase::Check && &h.release == release)
            .collect();
        Some(CheckRun {
            release: release.clone(),
            ok: runs.iter().all(|h| h.ok),
            seconds: (runs.iter().map(|h| h.seconds).sum::<f64>() * 10.0).round() / 10.0,
        })
    }

    /// The components that changed, from a lock diff.
    pub fn set_changes(&mut self, changes: &[ComponentChange]) {
        self.changes = changes.iter().filter(|c| c.is_change()).cloned().collect();
    }
}

/// Where the instance stands when the command ends, read after it, so that
/// it is true after a failure or a rollback too. An instance that is not
/// there (a first install that failed) has no record nor manifest.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// The instance directory.
    pub path: Option<String>,
    /// The manifest source the instance follows.
    pub follows: Option<SourceRecord>,
    /// The manifest of the release `current` points at.
    pub manifest: Option<LockedManifest>,
}

impl Standing {
    fn read(ctx: &Context, name: &InstanceName) -> Self {
        let instance = ctx.instance(name);
        let path = Some(instance.dir.display().to_string());
        if !instance.exists() {
            return Standing {
                path,
                ..Standing::default()
            };
        }
        Standing {
            path,
            follows: instance.read_record().ok().map(|record| record.source),
            manifest: instance
                .current_lock()
                .ok()
                .flatten()
                .map(|(_, lock)| lock.manifest),
        }
    }
}

/// A command that did what it was asked.
#[derive(Debug)]
pub struct Outcome<T> {
    pub done: T,
    pub trail: Trail,
    pub standing: Standing,
}

/// A command that failed, with what it did before.
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    pub trail: Trail,
    pub standing: Standing,
}

/// Boxed: the error path carries the whole trail.
pub type Tracked<T> = std::result::Result<Outcome<T>, Box<Failure>>;

/// Runs a changing command on the instance `name` with a fresh trail, and
/// hands back its result or its error with the trail and where the
/// instance stands then.
pub fn tracked<T>(
    ctx: &Context,
    name: &InstanceName,
    run: impl FnOnce(&mut Trail) -> crate::core::error::Result<T>,
) -> Tracked<T> {
    let started = super::history::Started::now();
    let mut trail = Trail::default();
    let result = run(&mut trail);
    let standing = Standing::read(ctx, name);
    // Still under the instance lock, which goes once the line is written.
    let commit = standing.manifest.as_ref().map(|m| m.commit.clone());
    super::history::record(ctx, &started, trail.summary(commit), result.as_ref().err());
    match result {
        Ok(done) => Ok(Outcome {
            done,
            trail,
            standing,
        }),
        Err(error) => Err(Box::new(Failure {
            error,
            trail,
            standing,
        })),
    }
}
