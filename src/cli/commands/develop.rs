//! `develop NAME DIR` / `undevelop NAME COMPONENT`.

use std::path::Path;

use super::finish;
use crate::core::error::Result;
use crate::ops::report::Report;
use crate::ops::Context;

pub fn develop(ctx: &Context, name: &str, dir: &Path, json: bool) -> Result<()> {
    let mut report = Report::new(name, "develop");
    let result = crate::ops::develop::develop(ctx, name, dir, &mut report);
    finish(ctx, json, report, result, |done| {
        println!(
            "{} now uses {} ({}); release {} is current",
            done.instance.name,
            dir.display(),
            done.link.display(),
            done.release
        )
    })
}

pub fn undevelop(ctx: &Context, name: &str, component: &str, json: bool) -> Result<()> {
    let mut report = Report::new(name, "undevelop");
    let result = crate::ops::develop::undevelop(ctx, name, component, &mut report);
    finish(ctx, json, report, result, |done| {
        println!(
            "{} uses the pinned {component} again (removed {}); release {} is current",
            done.instance.name,
            done.link.display(),
            done.release
        )
    })
}
