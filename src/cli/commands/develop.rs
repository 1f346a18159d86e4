//! `develop NAME DIR` / `undevelop NAME COMPONENT`.

use std::path::Path;

use crate::core::error::Result;
use crate::ops::Context;

pub fn develop(ctx: &Context, name: &str, dir: &Path) -> Result<()> {
    let done = crate::ops::develop::develop(ctx, name, dir)?;
    println!(
        "{} now uses {} ({}); release {} is current",
        done.instance.name,
        dir.display(),
        done.link.display(),
        done.release
    );
    Ok(())
}

pub fn undevelop(ctx: &Context, name: &str, component: &str) -> Result<()> {
    let done = crate::ops::develop::undevelop(ctx, name, component)?;
    println!(
        "{} uses the pinned {component} again (removed {}); release {} is current",
        done.instance.name,
        done.link.display(),
        done.release
    );
    Ok(())
}
