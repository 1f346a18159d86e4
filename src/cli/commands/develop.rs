//! `develop NAME DIR` / `undevelop NAME COMPONENT`.

use std::path::Path;

use super::finish;
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::ops::Context;

pub fn develop(ctx: &Context, name: &InstanceName, dir: &Path, json: bool) -> Result<()> {
    let result = crate::ops::develop::develop(ctx, name, dir);
    finish(json, name, "develop", result, |done| {
        println!(
            "{} now uses {} ({}); release {} is current",
            done.instance.name,
            dir.display(),
            done.link.display(),
            done.release
        )
    })
}

pub fn undevelop(ctx: &Context, name: &InstanceName, component: &str, json: bool) -> Result<()> {
    let result = crate::ops::develop::undevelop(ctx, name, component);
    finish(json, name, "undevelop", result, |done| {
        println!(
            "{} uses the pinned {component} again (removed {}); release {} is current",
            done.instance.name,
            done.link.display(),
            done.release
        )
    })
}
