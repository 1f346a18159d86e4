//! `stop NAME` and `start NAME`.

use super::finish;
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::ops::Context;

pub fn stop(ctx: &Context, name: &InstanceName, json: bool) -> Result<()> {
    let result = crate::ops::control::stop(ctx, name);
    finish(json, name, "stop", result, |done| {
        println!(
            "stopped {} (release {} stays current; `lava-deploy start {}` starts it again)",
            done.instance.name, done.release, done.instance.name
        )
    })
}

pub fn start(ctx: &Context, name: &InstanceName, json: bool) -> Result<()> {
    let result = crate::ops::control::start(ctx, name);
    finish(json, name, "start", result, |done| {
        println!(
            "started {} (release {}; its post-switch and check hooks passed)",
            done.instance.name, done.release
        )
    })
}
