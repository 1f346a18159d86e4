//! `develop NAME DIR` / `undevelop NAME COMPONENT`: manage the links in
//! local/ and rebuild. A developer's checkout is never moved or changed.

use std::path::Path;

use anyhow::Result;

use crate::context::Context;
use crate::deploy;

pub fn develop(ctx: &Context, name: &str, dir: &Path) -> Result<()> {
    let (instance, _) = super::existing_instance(ctx, name)?;
    let _lock = instance.lock("develop", ctx.config.wait)?;
    let (_, lock) = deploy::require_current(&instance)?;
    let link = crate::overrides::link_checkout(&instance, &lock, dir)?;
    match super::rebuild::rebuild_locked(ctx, &instance, "develop") {
        Ok(release) => {
            println!(
                "{} now uses {} ({}); release {release} is current",
                instance.name,
                dir.display(),
                link.display()
            );
            Ok(())
        }
        Err(err) => {
            // Take the link back: the instance stays as it was.
            let _ = std::fs::remove_file(&link);
            Err(err)
        }
    }
}

pub fn undevelop(ctx: &Context, name: &str, component: &str) -> Result<()> {
    let (instance, _) = super::existing_instance(ctx, name)?;
    let _lock = instance.lock("undevelop", ctx.config.wait)?;
    let (_, lock) = deploy::require_current(&instance)?;
    let (link, target) = crate::overrides::unlink_checkout(&instance, &lock, component)?;
    match super::rebuild::rebuild_locked(ctx, &instance, "undevelop") {
        Ok(release) => {
            println!(
                "{} uses the pinned {component} again (removed {}); release {release} is current",
                instance.name,
                link.display()
            );
            Ok(())
        }
        Err(err) => {
            let _ = std::os::unix::fs::symlink(&target, &link);
            Err(err)
        }
    }
}
