//! `rollback NAME [RELEASE]`: point `current` back at an earlier release.

use anyhow::Result;

use crate::context::Context;
use crate::invalid;

pub fn run(ctx: &Context, name: &str, release: Option<&str>) -> Result<()> {
    let (instance, _) = super::existing_instance(ctx, name)?;
    let _lock = instance.lock("rollback", ctx.config.wait)?;
    let releases = instance.releases()?;
    let current = instance.current_release();
    let target = match release {
        Some(wanted) => releases
            .iter()
            .find(|r| {
                r.as_str() == wanted
                    || r.split_once('-')
                        .is_some_and(|(n, _)| n.trim_start_matches('0') == wanted)
            })
            .cloned()
            .ok_or_else(|| {
                invalid!(
                    "instance {} has no release {wanted:?}; its releases: {}",
                    instance.name,
                    releases.join(", ")
                )
            })?,
        None => {
            let position = current
                .as_ref()
                .and_then(|c| releases.iter().position(|r| r == c));
            match position {
                Some(index) if index > 0 => releases[index - 1].clone(),
                _ => {
                    return Err(invalid!(
                        "instance {} has no release before {}; its releases: {}",
                        instance.name,
                        current.as_deref().unwrap_or("(none)"),
                        releases.join(", ")
                    ))
                }
            }
        }
    };
    if current.as_deref() == Some(target.as_str()) {
        println!("{} is already at release {target}", instance.name);
        return Ok(());
    }
    instance.switch_current(&target)?;
    println!(
        "rolled back {}: release {target} is current (was {})",
        instance.name,
        current.as_deref().unwrap_or("none")
    );
    Ok(())
}
