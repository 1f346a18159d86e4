//! `status [NAME]` and `list`: what is deployed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Context;
use crate::core::error::Result;
use crate::core::lock::{LockedComponent, LockedManifest, LockedOverride};
use crate::core::names::{ComponentName, InstanceName, ReleaseName};
use crate::core::record::SourceRecord;
use crate::store::Instance;

#[derive(Debug, Clone, Serialize)]
pub struct InstanceStatus {
    pub name: String,
    pub path: String,
    /// The release `current` points at; `None` for an install that never finished.
    pub current: Option<ReleaseName>,
    pub releases: Vec<ReleaseName>,
    pub follows: SourceRecord,
    pub manifest: Option<LockedManifest>,
    pub components: BTreeMap<ComponentName, LockedComponent>,
    /// Components replaced by directories in local/.
    pub overrides: BTreeMap<ComponentName, LockedOverride>,
    /// Releases whose post-switch or check failed (rolled back), and why.
    pub failed: BTreeMap<ReleaseName, String>,
    /// A deployment that was interrupted between its switch and the end of
    /// its check; the next `upgrade` finishes it or rolls back.
    pub interrupted: Option<String>,
}

impl InstanceStatus {
    pub fn read(instance: &Instance) -> Result<Self> {
        let record = instance.read_record()?;
        let current = instance.current_lock()?;
        Ok(InstanceStatus {
            name: instance.name.to_string(),
            path: instance.dir.display().to_string(),
            releases: instance.releases()?,
            current: current.as_ref().map(|(r, _)| r.clone()),
            failed: record
                .releases
                .iter()
                .filter_map(|r| Some((r.name.clone(), r.failed.clone()?)))
                .collect(),
            interrupted: record.pending.as_ref().map(|p| {
                format!(
                    "`{}` switched to release {} at {} and was interrupted before its \
                     post-switch and check finished; `lava-deploy upgrade {}` finishes it or rolls back",
                    p.command, p.release, p.started, instance.name
                )
            }),
            follows: record.source,
            manifest: current.as_ref().map(|(_, l)| l.manifest.clone()),
            overrides: current
                .as_ref()
                .map(|(_, l)| l.overrides.clone())
                .unwrap_or_default(),
            components: current.map(|(_, l)| l.components).unwrap_or_default(),
        })
    }
}

/// One instance, which must exist.
pub fn status(ctx: &Context, name: &InstanceName) -> Result<InstanceStatus> {
    let (instance, _) = ctx.existing_instance(name)?;
    InstanceStatus::read(&instance)
}

/// Every instance under the root.
pub fn all(ctx: &Context) -> Result<Vec<InstanceStatus>> {
    ctx.root
        .instance_names()?
        .iter()
        .map(|name| InstanceStatus::read(&ctx.root.instance(name)))
        .collect()
}
