//! `rollback NAME [RELEASE]`.

use super::finish;
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::ops::Context;

pub fn run(ctx: &Context, name: &InstanceName, release: Option<&str>, json: bool) -> Result<()> {
    let result = crate::ops::rollback::rollback(ctx, name, release);
    finish(json, name, "rollback", result, |done| {
        if !done.switched {
            println!(
                "{} is already at release {}",
                done.instance.name, done.release
            );
            return;
        }
        println!(
            "rolled back {}: release {} is current (was {})",
            done.instance.name,
            done.release,
            done.previous.as_ref().map_or("none", |r| r.as_str())
        )
    })
}
