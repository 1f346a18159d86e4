//! `prune` and `remove`: keeping instances tidy.

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
    let locked = ctx.lock_existing_as_is(name, "prune")?;
    let instance = &locked.instance;
    instance.remove_leftovers()?;
    let removed = instance.prune(keep)?;
    Ok((instance.clone(), removed))
}

/// Deletes an instance (never the shared cache), after the `stop` hooks of
/// its current release; when they fail, nothing is removed. The caller has
/// asked for confirmation.
pub fn remove(ctx: &Context, instance: &Instance) -> Result<()> {
    let lock = instance.lock("remove", ctx.settings.wait)?;
    if let Some(current) = instance.current_release() {
        // `remove` has no report: what its hooks did is not shown.
        let mut trail = Trail::default();
        stop_release(ctx, instance, &current, &mut trail).map_err(|err| {
            err.context(format!(
                "instance {} is not removed: the stop hook of release {current} failed \
                 (stop its services by hand, then `lava-deploy remove {} --no-hooks`)",
                instance.name, instance.name
            ))
        })?;
    }
    // Renamed away first, so a half-finished removal never looks like an instance.
    let doomed = crate::infra::fs::temp_sibling(&instance.dir);
    std::fs::rename(&instance.dir, &doomed)
        .with_context(|| format!("cannot remove {}", instance.dir.display()))?;
    drop(lock);
    crate::infra::fs::remove_path(&doomed)?;
    Ok(())
}
