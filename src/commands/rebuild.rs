//! `rebuild NAME`: a new release from the current release's lock plus the
//! overrides now in local/ — no manifest fetch, nothing re-resolved.

use anyhow::{Context as _, Result};

use crate::context::Context;
use crate::deploy;
use crate::invalid;
use crate::layout::Instance;
use crate::manifest::{BranchSpec, ManifestBranch};
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
    let (current, mut lock) = deploy::current_lock(instance)?.ok_or_else(|| {
        invalid!(
            "instance {} has no working release to rebuild from; run `lava-deploy install {}`",
            instance.name,
            instance.name
        )
    })?;
    tracing::info!("rebuilding from release {current}");
    let spec = BranchSpec::parse(&lock.manifest.source)?;
    let branch = ManifestBranch::at_recorded_commit(
        &spec,
        &ctx.git,
        &lock.manifest.commit,
        ctx.config.offline,
    )
    .with_context(|| format!("cannot open the manifest branch of release {current}"))?;
    lock.environment = None;
    crate::overrides::apply(instance, &mut lock)?;
    deploy::deploy(ctx, instance, &mut record, &lock, &branch, command)
}
