//! `install NAME`: create an instance and its first release, or finish an
//! install that failed or was killed.

use super::deploy::{deploy, recover_interrupted};
use super::outcome::{tracked, Tracked, Trail};
use super::prepare::{prepare, Mode, Request};
use super::source::SourceRequest;
use super::Context;
use crate::core::decision::{Action, Decision};
use crate::core::error::Result;
use crate::core::names::{InstanceName, ReleaseName};
use crate::core::record::InstanceRecord;
use crate::infra::fs::remove_path;
use crate::invalid;
use crate::store::Instance;

/// A release that became current.
#[derive(Debug, Clone)]
pub struct Installed {
    pub instance: Instance,
    pub release: ReleaseName,
}

pub fn install(ctx: &Context, name: &InstanceName, asked: &SourceRequest) -> Tracked<Installed> {
    tracked(ctx, name, |trail| install_tracked(ctx, name, asked, trail))
}

fn install_tracked(
    ctx: &Context,
    name: &InstanceName,
    asked: &SourceRequest,
    trail: &mut Trail,
) -> Result<Installed> {
    let instance = ctx.instance(name);
    refuse_healthy(&instance)?;
    ctx.root.ensure_writable()?;
    // Nothing existed before this run, or only the secrets (`secret set`
    // before the first install): a failure leaves exactly that again.
    let created = !instance.dir.exists();
    let only_secrets = !created && !instance.exists() && instance.holds_only_secrets()?;
    let lock = ctx.lock_instance(&instance, "install")?;
    // Another install may have finished while we were starting.
    refuse_healthy(&instance)?;

    let result = (|| {
        fs_err::create_dir_all(&instance.dir)?;
        let mut record = if instance.exists() {
            instance.read_record()?
        } else {
            InstanceRecord::default()
        };
        recover_interrupted(ctx, &instance, &mut record, trail)?;
        // The interrupted install may have finished just now.
        refuse_healthy(&instance)?;
        let recorded = instance.exists().then_some(&record);
        let request = Request {
            action: Action::Install,
            source: asked,
            retry_failed: false,
        };
        let prepared = prepare(ctx, &instance, recorded, request, Mode::Write)?;
        if let Decision::Refused(refusal) = &prepared.decision {
            return Err(refusal.to_error());
        }
        trail.set_changes(&prepared.changes);
        trail.secrets = prepared.secrets;
        record.name = name.to_string();
        record.source = prepared.selection.to_record();
        instance.write_record(&record)?;
        deploy(
            ctx,
            &instance,
            &mut record,
            &prepared.lock,
            &prepared.branch,
            "install",
            trail,
        )
    })();
    match result {
        Ok(release) => Ok(Installed { instance, release }),
        Err(err) => {
            // A first release that failed its check leaves a record worth
            // keeping (the failure); anything less is removed.
            if (created || only_secrets)
                && instance.current_release().is_none()
                && trail.failed_release.is_none()
            {
                let cleanup = if created {
                    // Nothing existed before this run: leave nothing behind.
                    drop(lock);
                    remove_path(&instance.dir)
                } else {
                    instance.remove_all_but_secrets()
                };
                if let Err(cleanup) = cleanup {
                    tracing::warn!("{cleanup:#}");
                }
            }
            Err(err)
        }
    }
}

fn refuse_healthy(instance: &Instance) -> Result<()> {
    if let Some(current) = instance.current_release() {
        let interrupted = instance
            .read_record()
            .ok()
            .and_then(|r| r.pending)
            .filter(|p| p.release == current);
        if let Some(pending) = interrupted {
            return Err(invalid!(
                "instance {} is at release {current}, but `{}` was interrupted before its \
                 post-switch and check finished; `lava-deploy upgrade {}` finishes it or rolls back",
                instance.name,
                pending.command,
                instance.name
            ));
        }
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
