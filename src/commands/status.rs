//! `status [NAME]`: what is deployed, in detail.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use crate::context::Context;
use crate::deploy::current_lock;
use crate::layout::Instance;
use crate::lockfile::{LockedComponent, LockedManifest, LockedOverride};
use crate::record::{InstanceRecord, SourceRecord};

#[derive(Serialize)]
pub struct InstanceStatus {
    pub name: String,
    pub path: String,
    /// The release `current` points at; `None` for an install that never finished.
    pub current: Option<String>,
    pub releases: Vec<String>,
    pub follows: SourceRecord,
    pub manifest: Option<LockedManifest>,
    pub components: BTreeMap<String, LockedComponent>,
    /// Components replaced by directories in local/.
    pub overrides: BTreeMap<String, LockedOverride>,
}

impl InstanceStatus {
    pub fn read(instance: &Instance, record: InstanceRecord) -> Result<Self> {
        let current = current_lock(instance)?;
        Ok(InstanceStatus {
            name: instance.name.to_string(),
            path: instance.dir.display().to_string(),
            releases: instance.releases()?,
            current: current.as_ref().map(|(r, _)| r.clone()),
            follows: record.source,
            manifest: current.as_ref().map(|(_, l)| l.manifest.clone()),
            overrides: current
                .as_ref()
                .map(|(_, l)| l.overrides.clone())
                .unwrap_or_default(),
            components: current.map(|(_, l)| l.components).unwrap_or_default(),
        })
    }

    fn print(&self) {
        println!("instance {}  ({})", self.name, self.path);
        println!(
            "  current:    {}",
            self.current
                .as_deref()
                .unwrap_or("none (install did not finish)")
        );
        let cfg = self.follows.cfg.as_deref().unwrap_or("default");
        println!("  follows:    {} (file: {cfg})", self.follows.branch);
        if let Some(m) = &self.manifest {
            println!("  manifest:   {} at {} ({})", m.file, m.describe, m.commit);
        }
        println!("  releases:   {}", self.releases.join(", "));
        println!("  components:");
        let width = self.components.keys().map(String::len).max().unwrap_or(0);
        for (name, component) in &self.components {
            println!(
                "    {name:width$}  {:6}  {:32}  {}",
                component.kind(),
                component.short_pin(),
                component.origin(name)
            );
        }
        if self.overrides.is_empty() {
            println!("  overrides:  none");
        } else {
            println!("  overrides:");
            for (name, found) in &self.overrides {
                let pinned = self
                    .components
                    .get(name)
                    .map(LockedComponent::short_pin)
                    .unwrap_or_default();
                println!(
                    "    {name:width$}  {}  (by {}; pinned: {pinned})",
                    found.describe(),
                    found.matched_by
                );
            }
        }
    }
}

pub fn run(ctx: &Context, name: Option<&str>, json: bool) -> Result<()> {
    let statuses = match name {
        Some(name) => {
            let (instance, record) = super::existing_instance(ctx, name)?;
            vec![InstanceStatus::read(&instance, record)?]
        }
        None => all(ctx)?,
    };
    if json {
        return match name {
            Some(_) => super::print_json(&statuses[0]),
            None => super::print_json(&statuses),
        };
    }
    if statuses.is_empty() {
        println!("no instances under {}", ctx.root.path.display());
    }
    for (index, status) in statuses.iter().enumerate() {
        if index > 0 {
            println!();
        }
        status.print();
    }
    Ok(())
}

pub fn all(ctx: &Context) -> Result<Vec<InstanceStatus>> {
    ctx.root
        .instance_names()?
        .iter()
        .map(|name| {
            let instance = ctx.root.instance(name);
            let record = InstanceRecord::read(&instance.record_path())?;
            InstanceStatus::read(&instance, record)
        })
        .collect()
}
