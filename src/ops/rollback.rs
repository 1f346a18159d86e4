//! `rollback NAME [RELEASE]`: point `current` back at an earlier release.

use super::deploy::run_return_hooks;
use super::outcome::{tracked, Tracked, Trail};
use super::{Context, Locked};
use crate::core::error::Result;
use crate::core::names::{InstanceName, ReleaseName};
use crate::invalid;
use crate::store::Instance;

#[derive(Debug, Clone)]
pub struct RolledBack {
    pub instance: Instance,
    pub release: ReleaseName,
    pub previous: Option<ReleaseName>,
    /// False when `current` already was that release.
    pub switched: bool,
}

/// Points `current` at `release` (default: the newest earlier release that
/// did not fail) and runs that release's `rollback`, `post-switch` and
/// `check` hooks.
pub fn rollback(ctx: &Context, name: &InstanceName, release: Option<&str>) -> Tracked<RolledBack> {
    tracked(ctx, name, |trail| {
        rollback_tracked(ctx, name, release, trail)
    })
}

fn rollback_tracked(
    ctx: &Context,
    name: &InstanceName,
    release: Option<&str>,
    trail: &mut Trail,
) -> Result<RolledBack> {
    let Locked {
        instance,
        mut record,
        _lock,
    } = ctx.lock_existing_as_is(name, "rollback")?;
    let releases = instance.releases()?;
    let current = instance.current_release();
    let listing = || {
        releases
            .iter()
            .map(ReleaseName::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let target = match release {
        Some(wanted) => instance.find_release(wanted)?,
        None => {
            let position = current
                .as_ref()
                .and_then(|c| releases.iter().position(|r| r == c));
            let earlier = position.and_then(|index| {
                releases[..index]
                    .iter()
                    .rev()
                    .find(|r| record.failure_of(r).is_none())
            });
            match earlier {
                Some(release) => release.clone(),
                None => {
                    return Err(invalid!(
                        "instance {} has no release before {}; its releases: {}",
                        instance.name,
                        current.as_ref().map_or("(none)", ReleaseName::as_str),
                        listing()
                    ))
                }
            }
        }
    };
    let switched = current.as_ref() != Some(&target);
    trail.previous = current.as_ref().map(ToString::to_string);
    trail.release = Some(target.to_string());
    if switched {
        // A pending marker of an interrupted run no longer applies: current
        // is decided here.
        if record.pending.take().is_some() {
            instance.write_record(&record)?;
        }
        instance.switch_current(&target)?;
        trail.changed = true;
        run_return_hooks(ctx, &instance, &target, current.as_ref(), trail)
            .map_err(|err| err.context(format!("rolled back to release {target}, but")))?;
    }
    Ok(RolledBack {
        instance,
        release: target,
        previous: current,
        switched,
    })
}
