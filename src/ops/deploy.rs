//! The deployment transaction, from a lock to a serving `current`:
//!
//! build the release → `build` hooks → `pre-switch` → switch → `post-switch`
//! → `check`.
//!
//! A failure before the switch changes nothing (the release is removed). A
//! failed `post-switch` or `check` rolls back: `current` returns to the
//! previous release, whose `rollback`, `post-switch` and `check` hooks run;
//! the failed release is marked in `instance.toml`. Between the switch and
//! the end, `instance.toml` carries a pending marker, so a run killed there
//! is noticed, and finished or rolled back, by the next command.

use super::build::build_release;
use super::hooks::{HookTarget, Hooks};
use super::outcome::Trail;
use super::source::ManifestBranch;
use super::Context;
use crate::core::error::{Error, Result};
use crate::core::lock::LockFile;
use crate::core::names::ReleaseName;
use crate::core::record::{InstanceRecord, PendingSwitch, ReleaseEntry};
use crate::core::service::Phase;
use crate::store::Instance;

/// Builds a new release of `instance` from `lock`, switches `current` to it
/// and sees it serving (or rolls back). The caller holds the instance lock.
pub fn deploy(
    ctx: &Context,
    instance: &Instance,
    record: &mut InstanceRecord,
    lock: &LockFile,
    branch: &ManifestBranch,
    command: &str,
    trail: &mut Trail,
) -> Result<ReleaseName> {
    // Numbered before leftovers go, so not even a failed attempt's number is reused.
    let release = instance.next_release_name(record.max_release_number(), &branch.describe)?;
    record.last_release_number = release.number();
    instance.write_record(record)?;
    instance.remove_leftovers()?;
    fs_err::create_dir_all(instance.local_dir())?;
    instance.prepare_shared(&lock.service.shared)?;
    let previous = instance.current_release();
    trail.previous = previous.as_ref().map(ToString::to_string);
    let hooks = Hooks::new(ctx, instance);
    let target = HookTarget {
        release: &release,
        service: &lock.service,
        previous: previous.as_ref(),
        cwd: instance.release_dir(&release),
    };
    if !record.setup_done && !ctx.settings.no_hooks {
        // Once, before the first release is built: the release does not
        // exist yet, so it runs in the instance directory.
        let setup = HookTarget {
            cwd: instance.dir.clone(),
            ..target
        };
        hooks.run_phase(&setup, Phase::Setup, trail)?;
        record.setup_done = true;
        instance.write_record(record)?;
    }
    tracing::info!("building release {release}");
    let (staged, lock) = build_release(ctx, instance, &release, lock, branch, || {
        hooks.run_phase(&target, Phase::Build, trail)
    })?;
    hooks.run_phase(&target, Phase::PreSwitch, trail)?;
    record.releases.push(ReleaseEntry {
        name: release.clone(),
        created: crate::core::time::rfc3339(std::time::SystemTime::now()),
        command: command.to_owned(),
        manifest_commit: lock.manifest.commit.clone(),
        manifest_file: lock.manifest.file.clone(),
        build_id: Some(lock.build_id()),
        failed: None,
    });
    record.pending = Some(PendingSwitch {
        release: release.clone(),
        previous: previous.clone(),
        command: command.to_owned(),
        started: crate::core::time::rfc3339(std::time::SystemTime::now()),
    });
    // Recorded before the switch: a number once used is never used again,
    // and a run killed from here on is noticed by the next one.
    instance.write_record(record)?;
    crate::infra::failpoint::hit("before-switch");
    instance.switch_current(&release)?;
    staged.keep();
    trail.changed = true;
    trail.release = Some(release.to_string());
    crate::infra::failpoint::hit("after-switch");
    finish_switch(ctx, instance, record, &release, previous.as_ref(), trail)?;
    Ok(release)
}

/// `post-switch` and `check` of `release`, which `current` points at now;
/// on failure, the automatic rollback to `previous`. Clears the pending
/// marker either way.
pub fn finish_switch(
    ctx: &Context,
    instance: &Instance,
    record: &mut InstanceRecord,
    release: &ReleaseName,
    previous: Option<&ReleaseName>,
    trail: &mut Trail,
) -> Result<()> {
    let outcome = run_phases(
        ctx,
        instance,
        release,
        previous,
        &[Phase::PostSwitch, Phase::Check],
        trail,
    );
    let Err(failure) = outcome else {
        record.pending = None;
        instance.write_record(record)?;
        return Ok(());
    };
    if let Some(entry) = record.entry_mut(release) {
        entry.failed = Some(first_line(&failure.to_string()));
    }
    trail.failed_release = Some(release.to_string());
    let back = roll_back_after_failure(ctx, instance, release, previous, trail);
    record.pending = None;
    instance.write_record(record)?;
    trail.changed = true;
    trail.release = instance.current_release().map(|r| r.to_string());
    Err(Error::Failed(anyhow::anyhow!(
        "{failure}\n{back}; release {release} is marked failed and `upgrade` will not build \
         the same pins again unless given --retry-failed"
    )))
}

/// Puts `previous` back and runs its `rollback`, `post-switch` and `check`
/// hooks. Says what happened, in one sentence.
fn roll_back_after_failure(
    ctx: &Context,
    instance: &Instance,
    failed: &ReleaseName,
    previous: Option<&ReleaseName>,
    trail: &mut Trail,
) -> String {
    let Some(previous) = previous else {
        // Nothing takes over: what the failed release started is stopped.
        let stopped = match stop_release(ctx, instance, failed, trail) {
            Ok(()) => String::new(),
            Err(err) => format!(" (its stop hook failed too: {err})"),
        };
        return match instance.clear_current() {
            Ok(()) => format!(
                "there is no earlier release to return to: the instance has no current \
                 release now{stopped} (fix the manifest and run install again)"
            ),
            Err(err) => format!("there is no earlier release to return to ({err:#}){stopped}"),
        };
    };
    if let Err(err) = instance.switch_current(previous) {
        return format!("ROLLBACK FAILED: cannot switch back to {previous} ({err:#})");
    }
    trail.rolled_back = true;
    match run_return_hooks(ctx, instance, previous, Some(failed), trail) {
        Ok(()) => format!("rolled back to release {previous} (its check passed)"),
        Err(err) => format!("rolled back to release {previous}, but its hooks failed too: {err}"),
    }
}

/// What a release needs when `current` moves back to it: its `rollback`,
/// `post-switch` and `check` hooks.
pub fn run_return_hooks(
    ctx: &Context,
    instance: &Instance,
    release: &ReleaseName,
    leaving: Option<&ReleaseName>,
    trail: &mut Trail,
) -> Result<()> {
    let phases = [Phase::Rollback, Phase::PostSwitch, Phase::Check];
    run_phases(ctx, instance, release, leaving, &phases, trail)
}

/// The `stop` hooks of a release whose services nothing takes over
/// (`remove`, a first release that failed).
pub fn stop_release(
    ctx: &Context,
    instance: &Instance,
    release: &ReleaseName,
    trail: &mut Trail,
) -> Result<()> {
    run_phases(ctx, instance, release, None, &[Phase::Stop], trail)
}

/// `phases` of a release that exists (its own lock says what they are), in
/// order; the first failure stops them.
fn run_phases(
    ctx: &Context,
    instance: &Instance,
    release: &ReleaseName,
    previous: Option<&ReleaseName>,
    phases: &[Phase],
    trail: &mut Trail,
) -> Result<()> {
    let lock = instance.read_lock(release)?;
    let hooks = Hooks::new(ctx, instance);
    let target = HookTarget {
        release,
        service: &lock.service,
        previous,
        cwd: instance.release_dir(release),
    };
    for phase in phases {
        hooks.run_phase(&target, *phase, trail)?;
    }
    Ok(())
}

/// A run that was killed between its switch and the end of its check left
/// the pending marker: finish it (post-switch and check again), or roll
/// back when that fails. Called under the instance lock.
pub fn recover_interrupted(
    ctx: &Context,
    instance: &Instance,
    record: &mut InstanceRecord,
    trail: &mut Trail,
) -> Result<()> {
    let Some(pending) = record.pending.clone() else {
        return Ok(());
    };
    let current = instance.current_release();
    if current.as_ref() != Some(&pending.release) {
        // Killed before the switch took effect (or after a rollback had
        // finished): `current` is where it was; only the marker is left.
        tracing::warn!(
            "an interrupted `{}` left release {} unfinished; current is {}: nothing to finish",
            pending.command,
            pending.release,
            current.as_ref().map_or("none", |r| r.as_str())
        );
        record.pending = None;
        instance.write_record(record)?;
        return Ok(());
    }
    tracing::warn!(
        "`{}` (started {}) switched to release {} but was interrupted before its post-switch \
         and check finished; running them now",
        pending.command,
        pending.started,
        pending.release
    );
    trail.changed = true;
    finish_switch(
        ctx,
        instance,
        record,
        &pending.release,
        pending.previous.as_ref(),
        trail,
    )
    .map_err(|err| err.context("finishing the interrupted deployment"))
}

/// The current release and its lock, or an error saying there is none.
pub fn require_current(instance: &Instance) -> Result<(ReleaseName, LockFile)> {
    instance.current_lock()?.ok_or_else(|| {
        crate::invalid!(
            "instance {} has no working release; run `lava-deploy install {}` first",
            instance.name,
            instance.name
        )
    })
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}
