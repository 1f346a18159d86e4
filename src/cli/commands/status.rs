//! `status [NAME]` and `list`: what is deployed.

use serde::Serialize;

use crate::cli::render::pin_text;
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::core::names::ReleaseName;
use crate::ops::status::InstanceStatus;
use crate::ops::Context;

pub fn run(ctx: &Context, name: Option<&InstanceName>, json: bool) -> Result<()> {
    let statuses = match name {
        Some(name) => vec![crate::ops::status::status(ctx, name)?],
        None => crate::ops::status::all(ctx)?,
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
        print(status);
    }
    Ok(())
}

fn print(status: &InstanceStatus) {
    println!("instance {}  ({})", status.name, status.path);
    println!(
        "  current:    {}",
        status
            .current
            .as_ref()
            .map_or("none (install did not finish)", |r| r.as_str())
    );
    let cfg = status.follows.cfg.as_deref().unwrap_or("default");
    println!("  follows:    {} (file: {cfg})", status.follows.branch);
    if let Some(signers) = &status.follows.signers {
        match &status.follows.revoked {
            Some(revoked) => println!("  signers:    {signers} (revoked keys: {revoked})"),
            None => println!("  signers:    {signers}"),
        }
    }
    if let Some(m) = &status.manifest {
        println!("  manifest:   {} at {} ({})", m.file, m.describe, m.commit);
        if let Some(signature) = &m.signature {
            println!("  signed by:  {}", signature.describe());
        }
    }
    let releases: Vec<String> = status
        .releases
        .iter()
        .map(|r| match status.failed.contains_key(r) {
            true => format!("{r} (failed)"),
            false => r.to_string(),
        })
        .collect();
    println!("  releases:   {}", releases.join(", "));
    for (release, why) in &status.failed {
        println!("  failed:     {release}: {why}");
    }
    if let Some(interrupted) = &status.interrupted {
        println!("  INTERRUPTED: {interrupted}");
    }
    println!("  components:");
    let width = status.components.keys().map(|n| n.len()).max().unwrap_or(0);
    for (name, component) in &status.components {
        println!(
            "    {name:width$}  {:6}  {:32}  {}",
            component.kind(),
            pin_text(component),
            component.origin(name)
        );
    }
    if status.overrides.is_empty() {
        println!("  overrides:  none");
    } else {
        println!("  overrides:");
        for (name, found) in &status.overrides {
            let pinned = status
                .components
                .get(name)
                .map(pin_text)
                .unwrap_or_default();
            println!(
                "    {name:width$}  {}  (by {}; pinned: {pinned})",
                found.describe(),
                found.matched_by
            );
        }
    }
}

#[derive(Serialize)]
struct ListEntry {
    name: String,
    current: Option<ReleaseName>,
    follows: String,
}

pub fn list(ctx: &Context, json: bool) -> Result<()> {
    let entries: Vec<ListEntry> = crate::ops::status::all(ctx)?
        .into_iter()
        .map(|s| ListEntry {
            name: s.name,
            current: s.current,
            follows: s.follows.branch,
        })
        .collect();
    if json {
        return super::print_json(&entries);
    }
    if entries.is_empty() {
        println!("no instances under {}", ctx.root.path.display());
    }
    let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
    for entry in entries {
        println!(
            "{:width$}  {:24}  {}",
            entry.name,
            entry
                .current
                .as_ref()
                .map_or("(not installed)", |r| r.as_str()),
            entry.follows
        );
    }
    Ok(())
}
