//! `upgrade NAME` and `rebuild NAME`.

use super::finish;
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::ops::source::SourceRequest;
use crate::ops::upgrade::UpgradeOptions;
use crate::ops::Context;

pub fn run(
    ctx: &Context,
    name: &InstanceName,
    asked: &SourceRequest,
    retry_failed: bool,
    json: bool,
) -> Result<()> {
    let options = UpgradeOptions { retry_failed };
    let result = crate::ops::upgrade::upgrade(ctx, name, asked, options);
    finish(json, name, "upgrade", result, |done| {
        let release = done.release.as_ref().map_or("none", |r| r.as_str());
        let name = &done.instance.name;
        match (done.built, done.source_changed) {
            (true, _) => {
                println!("upgraded {name}: release {release} is current");
                for change in done.changes.iter().filter(|c| c.is_change()) {
                    println!("  {}", crate::cli::render::change_line(change));
                }
            }
            (false, true) => println!(
                "{name} now follows {}; it is up to date (release {release})",
                done.follows
            ),
            (false, false) => println!("{name} is up to date (release {release})"),
        }
    })
}

pub fn rebuild(ctx: &Context, name: &InstanceName, json: bool) -> Result<()> {
    let result = crate::ops::upgrade::rebuild(ctx, name);
    finish(json, name, "rebuild", result, |release| {
        println!("rebuilt {name}: release {release} is current")
    })
}
