//! `install NAME`: create an instance and its first release, or finish an
//! install that failed or was killed.

use anyhow::Result;

use crate::cli::SourceArgs;
use crate::context::Context;
use crate::deploy::{self, Selection};
use crate::invalid;
use crate::layout::{remove_path, InstanceName};
use crate::record::InstanceRecord;

pub fn run(ctx: &Context, name: &str, args: &SourceArgs) -> Result<()> {
    let name = InstanceName::parse(name)?;
    let instance = ctx.root.instance(&name);
    refuse_healthy(&instance)?;
    ctx.root.ensure_writable()?;
    let created = !instance.dir.exists();
    let lock = instance.lock("install", ctx.config.wait)?;
    // Another install may have finished while we were starting.
    refuse_healthy(&instance)?;

    let result = (|| {
        let mut record = if instance.exists() {
            InstanceRecord::read(&instance.record_path())?
        } else {
            InstanceRecord::default()
        };
        let selection = Selection::choose(args, instance.exists().then_some(&record.source))?;
        let loaded = deploy::load(ctx, &selection)?;
        let mut lock_file = crate::resolve::resolve(ctx, &loaded.branch, &loaded.manifest)?;
        crate::overrides::apply(&instance, &mut lock_file)?;
        record.name = name.to_string();
        record.source = selection.to_record();
        record.write(&instance.record_path())?;
        deploy::deploy(
            ctx,
            &instance,
            &mut record,
            &lock_file,
            &loaded.branch,
            "install",
        )
    })();
    match result {
        Ok(release) => {
            println!(
                "installed {name}: release {release} is current ({})",
                instance.release_dir(&release).display()
            );
            Ok(())
        }
        Err(err) => {
            if created {
                // Nothing existed before this run: leave nothing behind.
                drop(lock);
                if let Err(cleanup) = remove_path(&instance.dir) {
                    tracing::warn!("{cleanup:#}");
                }
            }
            Err(err)
        }
    }
}

fn refuse_healthy(instance: &crate::layout::Instance) -> Result<()> {
    if let Some(current) = instance.current_release() {
        return Err(invalid!(
            "instance {} already exists at {} (current release {current}); \
             use `lava-deploy upgrade {}` to update it",
            instance.name,
            instance.dir.display(),
            instance.name
        ));
    }
    Ok(())
}
