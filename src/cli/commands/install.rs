//! `install NAME`.

use crate::core::error::Result;
use crate::ops::source::SourceRequest;
use crate::ops::Context;

pub fn run(ctx: &Context, name: &str, asked: &SourceRequest) -> Result<()> {
    let done = crate::ops::install::install(ctx, name, asked)?;
    println!(
        "installed {}: release {} is current ({})",
        done.instance.name,
        done.release,
        done.instance.release_dir(&done.release).display()
    );
    Ok(())
}
