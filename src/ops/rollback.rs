//! `rollback NAME [RELEASE]`: point `current` back at an earlier release.

use super::Context;
use crate::core::error::Result;
use crate::core::names::ReleaseName;
use crate::invalid;
use crate::store::Instance;

#[derive(Debug, Clone)]
pub struct RolledBack {
    pub instance: Instance,
    pub release: ReleaseName,
    pub previous: Option<ReleaseName>,
    /// False when `current` already was that release.
    pub switched: bool,
}

pub fn rollback(ctx: &Context, name: &str, release: Option<&str>) -> Result<RolledBack> {
    let (instance, _) = ctx.existing_instance(name)?;
    let _lock = instance.lock("rollback", ctx.settings.wait)?;
    let releases = instance.releases()?;
    let current = instance.current_release();
    let listing = || {
        releases
            .iter()
            .map(ReleaseName::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
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
                    listing()
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
                        current.as_ref().map_or("(none)", ReleaseName::as_str),
                        listing()
                    ))
                }
            }
        }
    };
    let switched = current.as_ref() != Some(&target);
    if switched {
        instance.switch_current(&target)?;
    }
    Ok(RolledBack {
        instance,
        release: target,
        previous: current,
        switched,
    })
}
