//! `develop NAME DIR` / `undevelop NAME COMPONENT`: manage the links in
//! local/ and rebuild. A developer's checkout is never moved or changed.

use std::path::{Path, PathBuf};

use super::deploy::require_current;
use super::outcome::{tracked, Tracked, Trail};
use super::upgrade::rebuild_locked;
use super::Context;
use crate::core::error::Result;
use crate::core::names::{InstanceName, ReleaseName};
use crate::store::Instance;

/// A link made or removed in local/, and the release built with it.
#[derive(Debug, Clone)]
pub struct Developed {
    pub instance: Instance,
    pub link: PathBuf,
    pub release: ReleaseName,
}

pub fn develop(ctx: &Context, name: &InstanceName, dir: &Path) -> Tracked<Developed> {
    tracked(ctx, name, |trail| develop_tracked(ctx, name, dir, trail))
}

fn develop_tracked(
    ctx: &Context,
    name: &InstanceName,
    dir: &Path,
    trail: &mut Trail,
) -> Result<Developed> {
    let mut locked = ctx.lock_existing(name, "develop", trail)?;
    let instance = locked.instance.clone();
    let (_, lock) = require_current(&instance)?;
    let link = super::overrides::link_checkout(&instance, &lock, dir)?;
    match rebuild_locked(ctx, &mut locked, "develop", trail) {
        Ok(release) => Ok(Developed {
            instance,
            link,
            release,
        }),
        Err(err) => {
            // Take the link back: the instance stays as it was.
            let _ = std::fs::remove_file(&link);
            Err(err)
        }
    }
}

pub fn undevelop(ctx: &Context, name: &InstanceName, component: &str) -> Tracked<Developed> {
    tracked(ctx, name, |trail| {
        undevelop_tracked(ctx, name, component, trail)
    })
}

fn undevelop_tracked(
    ctx: &Context,
    name: &InstanceName,
    component: &str,
    trail: &mut Trail,
) -> Result<Developed> {
    let mut locked = ctx.lock_existing(name, "undevelop", trail)?;
    let instance = locked.instance.clone();
    let (_, lock) = require_current(&instance)?;
    let (link, target) = super::overrides::unlink_checkout(&instance, &lock, component)?;
    match rebuild_locked(ctx, &mut locked, "undevelop", trail) {
        Ok(release) => Ok(Developed {
            instance,
            link,
            release,
        }),
        Err(err) => {
            let _ = std::os::unix::fs::symlink(&target, &link);
            Err(err)
        }
    }
}
