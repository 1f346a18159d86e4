//! `upgrade NAME`: re-read the manifest branch and switch to a new release
//! only when the resolved lock changed.

use anyhow::Result;

use crate::cli::SourceArgs;
use crate::context::Context;
use crate::deploy::{self, Selection};

pub fn run(ctx: &Context, name: &str, args: &SourceArgs) -> Result<()> {
    let (instance, _) = super::existing_instance(ctx, name)?;
    let _lock = instance.lock("upgrade", ctx.config.wait)?;
    let mut record = crate::record::InstanceRecord::read(&instance.record_path())?;
    let selection = Selection::choose(args, Some(&record.source))?;
    let loaded = deploy::load(ctx, &selection)?;
    let mut lock = crate::resolve::resolve(ctx, &loaded.branch, &loaded.manifest)?;
    crate::overrides::apply(&instance, &mut lock)?;
    let source_changed = record.source != selection.to_record();
    record.source = selection.to_record();

    if let Some((current, current_lock)) = deploy::current_lock(&instance)? {
        if current_lock.same_build(&lock) {
            if source_changed {
                record.write(&instance.record_path())?;
                println!(
                    "{} now follows {}; it is up to date (release {current})",
                    instance.name,
                    selection.spec.to_spec_string()
                );
            } else {
                println!("{} is up to date (release {current})", instance.name);
            }
            return Ok(());
        }
        for change in crate::lockfile::diff(Some(&current_lock), &lock) {
            if !matches!(change.change, crate::lockfile::Change::Unchanged { .. }) {
                tracing::info!("{}", super::plan::describe_change(&change));
            }
        }
    }
    let release = deploy::deploy(
        ctx,
        &instance,
        &mut record,
        &lock,
        &loaded.branch,
        "upgrade",
    )?;
    println!("upgraded {}: release {release} is current", instance.name);
    let removed = instance.prune(super::lifecycle::DEFAULT_KEEP)?;
    if !removed.is_empty() {
        tracing::info!("pruned old releases: {}", removed.join(", "));
    }
    Ok(())
}
