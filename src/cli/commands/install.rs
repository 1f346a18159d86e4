//! `install NAME`.

use super::finish;
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::ops::source::SourceRequest;
use crate::ops::Context;

pub fn run(ctx: &Context, name: &InstanceName, asked: &SourceRequest, json: bool) -> Result<()> {
    let result = crate::ops::install::install(ctx, name, asked);
    finish(json, name, "install", result, |done| {
        println!(
            "installed {}: release {} is current ({})",
            done.instance.name,
            done.release,
            done.instance.release_dir(&done.release).display()
        )
    })
}
