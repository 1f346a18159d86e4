//! `install NAME`.

use super::finish;
use crate::core::error::Result;
use crate::ops::report::Report;
use crate::ops::source::SourceRequest;
use crate::ops::Context;

pub fn run(ctx: &Context, name: &str, asked: &SourceRequest, json: bool) -> Result<()> {
    let mut report = Report::new(name, "install");
    let result = crate::ops::install::install(ctx, name, asked, &mut report);
    finish(ctx, json, report, result, |done| {
        println!(
            "installed {}: release {} is current ({})",
            done.instance.name,
            done.release,
            done.instance.release_dir(&done.release).display()
        )
    })
}
