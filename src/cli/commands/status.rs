//! `status [NAME]` and `list`: what is deployed.

use serde::Serialize;

use crate::cli::color::{Paint, Tone};
use crate::cli::render::pin_text;
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::core::names::ReleaseName;
use crate::ops::status::{Health, InstanceStatus};
use crate::ops::Context;

pub fn run(ctx: &Context, name: Option<&InstanceName>, json: bool) -> Result<()> {
    let paint = Paint::stdout();
    let statuses = match name {
        Some(name) => vec![crate::ops::status::status(ctx, name)?],
        None => crate::ops::status::all(ctx, true)?,
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
        print(status, &paint);
    }
    Ok(())
}

fn print(status: &InstanceStatus, paint: &Paint) {
    println!("instance {}  ({})", status.name, status.path);
    println!(
        "  current:    {}",
        status
            .current
            .as_ref()
            .map_or("none (install did not finish)", |r| r.as_str())
    );
    if let Some(since) = &status.glance.since {
        println!("  since:      {since}");
    }
    println!("  health:     {}", health_text(status.glance.health, paint));
    if let Some(check) = &status.glance.last_check {
        let result = match check.ok {
            true => "passed".to_owned(),
            false => paint.tone(Tone::Bad, "FAILED"),
        };
        println!(
            "  last check: {result} in {:.1} s ({} at {})",
            check.seconds, check.action, check.time
        );
    }
    if let Some(answer) = &status.glance.answer {
        let said = match (&answer.version, &answer.error) {
            (_, Some(error)) => paint.tone(Tone::Bad, &format!("no answer: {error}")),
            (Some(version), None) => format!("version {version}"),
            (None, None) => "ok".to_owned(),
        };
        println!(
            "  answering:  {said} ({} in {:.2} s)",
            answer.url, answer.seconds
        );
    }
    if let Some(last) = &status.glance.last {
        println!("  last:       {}", super::history::line(last, paint, 0));
    }
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
            true => format!("{r} {}", paint.tone(Tone::Bad, "(failed)")),
            false => r.to_string(),
        })
        .collect();
    println!("  releases:   {}", releases.join(", "));
    for (release, why) in &status.failed {
        println!(
            "  {}     {release}: {why}",
            paint.tone(Tone::Bad, "failed:")
        );
    }
    if let Some(interrupted) = &status.interrupted {
        println!("  {} {interrupted}", paint.tone(Tone::Bad, "INTERRUPTED:"));
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

/// The health, colored when it needs attention.
fn health_text(health: Health, paint: &Paint) -> String {
    let tone = match health {
        Health::Ok => Tone::Good,
        Health::Stopped | Health::RolledBack | Health::LastFailed => Tone::Warn,
        Health::Interrupted | Health::NotInstalled | Health::CheckFailed => Tone::Bad,
    };
    paint.tone(tone, health.name())
}

#[derive(Serialize)]
struct ListEntry {
    name: String,
    current: Option<ReleaseName>,
    follows: String,
    health: Health,
    since: Option<String>,
}

pub fn list(ctx: &Context, json: bool) -> Result<()> {
    let entries: Vec<ListEntry> = crate::ops::status::all(ctx, false)?
        .into_iter()
        .map(|s| ListEntry {
            name: s.name,
            current: s.current,
            follows: s.follows.branch,
            health: s.glance.health,
            since: s.glance.since,
        })
        .collect();
    if json {
        return super::print_json(&entries);
    }
    if entries.is_empty() {
        println!("no instances under {}", ctx.root.path.display());
    }
    let paint = Paint::stdout();
    let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
    let health_width = entries
        .iter()
        .map(|e| e.health.name().len())
        .max()
        .unwrap_or(0);
    for entry in entries {
        // Padded before it is colored: escape codes have no width.
        let health = format!("{:health_width$}", entry.health.name());
        let health = health.replace(entry.health.name(), &health_text(entry.health, &paint));
        println!(
            "{:width$}  {:24}  {health}  {}",
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
