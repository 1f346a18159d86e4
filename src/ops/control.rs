//! `stop NAME` and `start NAME`: the current release's services stopped
//! (its `stop` hooks) or started again (its `post-switch`, then its
//! `check`), under the instance lock. Nothing is built, switched or deleted.

use super::deploy::require_current;
use super::hooks::{HookTarget, Hooks};
use super::outcome::{tracked, Tracked, Trail};
use super::Context;
use crate::core::error::Result;
use crate::core::names::{InstanceName, ReleaseName};
use crate::core::service::Phase;
use crate::store::Instance;

/// The release whose hooks ran.
#[derive(Debug, Clone)]
pub struct Controlled {
    pub instance: Instance,
    pub release: ReleaseName,
}

pub fn stop(ctx: &Context, name: &InstanceName) -> Tracked<Controlled> {
    tracked(ctx, name, |trail| {
        run(ctx, name, "stop", &[Phase::Stop], trail)
    })
}

pub fn start(ctx: &Context, name: &InstanceName) -> Tracked<Controlled> {
    let phases = [Phase::PostSwitch, Phase::Check];
    tracked(ctx, name, |trail| run(ctx, name, "start", &phases, trail))
}

fn run(
    ctx: &Context,
    name: &InstanceName,
    command: &str,
    phases: &[Phase],
    trail: &mut Trail,
) -> Result<Controlled> {
    let locked = ctx.lock_existing(name, command, trail)?;
    let instance = &locked.instance;
    let (release, lock) = require_current(instance)?;
    trail.release = Some(release.to_string());
    trail.previous = trail.release.clone();
    let hooks = Hooks::new(ctx, instance);
    let target = HookTarget {
        release: &release,
        service: &lock.service,
        // Nothing is being replaced: the release starts or stops on its own.
        previous: None,
        cwd: instance.release_dir(&release),
    };
    let outcome = phases
        .iter()
        .try_for_each(|phase| hooks.run_phase(&target, *phase, trail));
    // Services were stopped or started: a change, even when a hook failed.
    trail.changed = !trail.hooks.is_empty();
    outcome?;
    Ok(Controlled {
        instance: instance.clone(),
        release,
    })
}
