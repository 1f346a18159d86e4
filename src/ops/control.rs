//! `stop NAME` and `start NAME`: the current release's services stopped
//! (its `stop` hooks) or started again (its `post-switch`, then its
//! `check`), under the instance lock. Nothing is built, switched or deleted.

use super::deploy::{recover_interrupted, require_current};
use super::hooks::{HookTarget, Hooks};
use super::report::Report;
use super::Context;
use crate::core::error::Result;
use crate::core::names::ReleaseName;
use crate::core::service::Phase;
use crate::store::Instance;

/// The release whose hooks ran.
#[derive(Debug, Clone)]
pub struct Controlled {
    pub instance: Instance,
    pub release: ReleaseName,
}

pub fn stop(ctx: &Context, name: &str, report: &mut Report) -> Result<Controlled> {
    run(ctx, name, "stop", &[Phase::Stop], report)
}

pub fn start(ctx: &Context, name: &str, report: &mut Report) -> Result<Controlled> {
    run(
        ctx,
        name,
        "start",
        &[Phase::PostSwitch, Phase::Check],
        report,
    )
}

fn run(
    ctx: &Context,
    name: &str,
    command: &str,
    phases: &[Phase],
    report: &mut Report,
) -> Result<Controlled> {
    let (instance, _) = ctx.existing_instance(name)?;
    let _lock = instance.lock(command, ctx.settings.wait)?;
    let mut record = instance.read_record()?;
    recover_interrupted(ctx, &instance, &mut record, report)?;
    let (release, lock) = require_current(&instance)?;
    report.release = Some(release.to_string());
    report.previous = report.release.clone();
    let hooks = Hooks::new(ctx, &instance);
    let target = HookTarget {
        release: &release,
        service: &lock.service,
        // Nothing is being replaced: the release starts or stops on its own.
        previous: None,
        cwd: instance.release_dir(&release),
    };
    let outcome = phases
        .iter()
        .try_for_each(|phase| hooks.run_phase(&target, *phase, report));
    // Services were stopped or started: a change, even when a hook failed.
    report.changed = !report.hooks.is_empty();
    outcome?;
    Ok(Controlled { instance, release })
}
