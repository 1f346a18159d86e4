//! `upgrade NAME` and `rebuild NAME`.

use crate::core::error::Result;
use crate::ops::source::SourceRequest;
use crate::ops::Context;

pub fn run(ctx: &Context, name: &str, asked: &SourceRequest) -> Result<()> {
    let done = crate::ops::upgrade::upgrade(ctx, name, asked)?;
    let release = done.release.as_ref().map_or("none", |r| r.as_str());
    match (done.built, done.source_changed) {
        (true, _) => println!(
            "upgraded {}: release {release} is current",
            done.instance.name
        ),
        (false, true) => {
            let record = done.instance.read_record()?;
            println!(
                "{} now follows {}; it is up to date (release {release})",
                done.instance.name, record.source.branch
            )
        }
        (false, false) => println!("{} is up to date (release {release})", done.instance.name),
    }
    Ok(())
}

pub fn rebuild(ctx: &Context, name: &str) -> Result<()> {
    let release = crate::ops::upgrade::rebuild(ctx, name)?;
    println!("rebuilt {name}: release {release} is current");
    Ok(())
}
