//! `plan NAME`: what `upgrade` would change, component by component.

use anyhow::Result;
use serde::Serialize;

use crate::cli::SourceArgs;
use crate::context::Context;
use crate::deploy::{self, Selection};
use crate::lockfile::{diff, Change, ComponentChange};

#[derive(Serialize)]
struct Plan {
    instance: String,
    current: Option<String>,
    manifest: crate::lockfile::LockedManifest,
    up_to_date: bool,
    components: Vec<ComponentChange>,
}

pub fn run(ctx: &Context, name: &str, args: &SourceArgs, json: bool) -> Result<()> {
    let (instance, record) = super::existing_instance(ctx, name)?;
    let selection = Selection::choose(args, Some(&record.source))?;
    let loaded = deploy::load(ctx, &selection)?;
    let mut lock = crate::resolve::resolve(ctx, &loaded.branch, &loaded.manifest)?;
    crate::overrides::apply(&instance, &mut lock)?;
    let current = deploy::current_lock(&instance)?;
    let plan = Plan {
        instance: instance.name.to_string(),
        up_to_date: current.as_ref().is_some_and(|(_, l)| l.same_build(&lock)),
        current: current.as_ref().map(|(r, _)| r.clone()),
        components: diff(current.as_ref().map(|(_, l)| l), &lock),
        manifest: lock.manifest,
    };
    if json {
        return super::print_json(&plan);
    }
    println!(
        "plan for {}: manifest {} from {} at {}",
        plan.instance, plan.manifest.file, plan.manifest.source, plan.manifest.describe
    );
    for change in &plan.components {
        println!("  {}", describe_change(change));
    }
    if plan.up_to_date {
        println!("up to date: upgrade would not build a new release");
    } else {
        let changed = plan
            .components
            .iter()
            .filter(|c| !matches!(c.change, Change::Unchanged { .. }))
            .count();
        println!("upgrade would build a new release ({changed} components change)");
    }
    Ok(())
}

/// `name: old -> new`, one line.
pub fn describe_change(change: &ComponentChange) -> String {
    let name = &change.component;
    match &change.change {
        Change::Added { new } => format!("+ {name}: {new} (new)"),
        Change::Removed { old } => format!("- {name}: {old} (removed)"),
        Change::Changed { old, new } => format!("~ {name}: {old} -> {new}"),
        Change::Unchanged { pin } => format!("  {name}: {pin}"),
    }
}
