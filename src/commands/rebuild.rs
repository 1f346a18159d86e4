//! `rebuild NAME`: a new release from the current release's lock plus the
//! overrides now in local/ — no manifest fetch, nothing re-resolved.

use anyhow::Result;

use crate::context::Context;
use crate::deploy;
use crate::layout::Instance;
use crate::record::InstanceRecord;

pub fn run(ctx: &Context, name: &str) -> Result<()> {
    let (instance, _) = super::existing_instance(ctx, name)?;
    let _lock = instance.lock("rebuild", ctx.config.wait)?;
    let release = rebuild_locked(ctx, &instance, "rebuild")?;
    println!("rebuilt {}: release {release} is current", instance.name);
    Ok(())
}

/// Rebuilds while the caller holds the instance lock.
pub fn rebuild_locked(ctx: &Context, instance: &Instance, command: &str) -> Result<String> {
    let mut record = InstanceRecord::read(&instance.record_path())?;
    let (current, mut lock) = deploy::require_current(instance)?;
    tracing::info!("rebuilding from release {current}");
    let branch = deploy::recorded_branch(ctx, &lock)?;
    lock.environment = None;
    crate::overrides::apply(instance, &mut lock)?;
    deploy::deploy(ctx, instance, &mut record, &lock, &branch, command)
}
