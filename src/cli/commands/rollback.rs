//! `rollback NAME [RELEASE]`.

use crate::core::error::Result;
use crate::ops::Context;

pub fn run(ctx: &Context, name: &str, release: Option<&str>) -> Result<()> {
    let done = crate::ops::rollback::rollback(ctx, name, release)?;
    if !done.switched {
        println!(
            "{} is already at release {}",
            done.instance.name, done.release
        );
        return Ok(());
    }
    println!(
        "rolled back {}: release {} is current (was {})",
        done.instance.name,
        done.release,
        done.previous.as_ref().map_or("none", |r| r.as_str())
    );
    Ok(())
}
