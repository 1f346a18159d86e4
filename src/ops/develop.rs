//! `develop NAME DIR` / `undevelop NAME COMPONENT`: manage the links in
//! local/ and rebuild. A developer's checkout is never moved or changed.

use std::path::{Path, PathBuf};

use super::deploy::require_current;
use super::outcome::{tracked, Tracked, Trail};
use super::upgrade::rebuild_locked;
use super::Context;
use crate::core::error::Result;
use crate::core::lock::LockFile;
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
    tracked(ctx, name, |trail| {
        relink(ctx, name, "develop", trail, |instance, lock| {
            let link = super::overrides::link_checkout(instance, lock, dir)?;
            // Taken back when the rebuild fails: the instance stays as it was.
            let undo = {
                let link = link.clone();
                move || drop(std::fs::remove_file(&link))
            };
            Ok((link, undo))
        })
    })
}

pub fn undevelop(ctx: &Context, name: &InstanceName, component: &str) -> Tracked<Developed> {
    tracked(ctx, name, |trail| {
        relink(ctx, name, "undevelop", trail, |instance, lock| {
            let (link, target) = super::overrides::unlink_checkout(instance, lock, component)?;
            let undo = {
                let link = link.clone();
                move || drop(std::os::unix::fs::symlink(&target, &link))
            };
            Ok((link, undo))
        })
    })
}

/// Changes a link in local/ under the instance lock (`change` returns the
/// link and how to undo it), then rebuilds; a failed rebuild undoes it.
fn relink<Undo: FnOnce()>(
    ctx: &Context,
    name: &InstanceName,
    command: &str,
    trail: &mut Trail,
    change: impl FnOnce(&Instance, &LockFile) -> Result<(PathBuf, Undo)>,
) -> Result<Developed> {
    let mut locked = ctx.lock_existing(name, command, trail)?;
    let instance = locked.instance.clone();
    let (_, lock) = require_current(&instance)?;
    let (link, undo) = change(&instance, &lock)?;
    match rebuild_locked(ctx, &mut locked, command, trail) {
        Ok(release) => Ok(Developed {
            instance,
            link,
            release,
        }),
        Err(err) => {
            undo();
            Err(err)
        }
    }
}
