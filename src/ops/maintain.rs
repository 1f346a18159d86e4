//! `prune` and `remove`: keeping instances tidy.

use std::path::PathBuf;

use anyhow::Context as _;

use super::deploy::stop_release;
use super::outcome::Trail;
use super::Context;
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::store::Instance;

/// Removes old releases (see `Instance::prune`) and leftovers of killed
/// runs. Returns the releases removed.
pub fn prune(ctx: &Context, name: &InstanceName, keep: usize) -> Result<(Instance, Vec<String>)> {
    let tracked = super::outcome::tracked(ctx, name, |trail| {
        let locked = ctx.lock_existing_as_is(name, "prune")?;
        let instance = &locked.instance;
        instance.remove_leftovers()?;
        let removed = instance.prune(keep)?;
        trail.changed = !removed.is_empty();
        trail.removed = removed.clone();
        Ok((instance.clone(), removed))
    });
    tracked
        .map(|outcome| outcome.done)
        .map_err(|failure| failure.error)
}

/// Deletes an instance (never the shared cache), after the `stop` hooks of
/// its current release; when they fail, nothing is removed. The caller has
/// asked for confirmation. Its history gets a last line and is kept in
/// `$ROOT/removed/`: returns where (`None`: it had none).
pub fn remove(ctx: &Context, instance: &Instance) -> Result<Option<PathBuf>> {
    let started = super::history::Started::now();
    let lock = ctx.lock_instance(instance, "remove")?;
    // `remove` has no report: what its hooks did is not shown.
    let mut trail = Trail::default();
    if let Some(current) = instance.current_release() {
        let stopped = stop_release(ctx, instance, &current, &mut trail).map_err(|err| {
            err.context(format!(
                "instance {} is not removed: the stop hook of release {current} failed \
                 (stop its services by hand, then `lava-deploy remove {} --no-hooks`)",
                instance.name, instance.name
            ))
        });
        if let Err(err) = stopped {
            super::history::record(ctx, &started, trail.summary(None), Some(&err));
            return Err(err);
        }
    }
    trail.changed = true;
    let commit = instance
        .current_lock()
        .ok()
        .flatten()
        .map(|(_, lock)| lock.manifest.commit);
    // The line goes in before the copy; `lock` keeps the instance locked
    // until it is gone.
    super::history::record(ctx, &started, trail.summary(commit), None);
    let now = crate::core::time::compact_utc(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    );
    let kept = ctx.root.keep_history(instance, &now)?;
    // Renamed away first, so a half-finished removal never looks like an instance.
    let doomed = crate::infra::fs::temp_sibling(&instance.dir);
    std::fs::rename(&instance.dir, &doomed)
        .with_context(|| format!("cannot remove {}", instance.dir.display()))?;
    drop(lock);
    crate::infra::fs::remove_path(&doomed)?;
    Ok(kept)
}
