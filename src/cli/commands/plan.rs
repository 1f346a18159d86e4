//! `plan NAME`: what `upgrade` would change, component by component.

use crate::cli::render::{change_line, PlannedChange};
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::ops::source::SourceRequest;
use crate::ops::Context;

pub fn run(
    ctx: &Context,
    name: &InstanceName,
    asked: &SourceRequest,
    retry_failed: bool,
    json: bool,
) -> Result<()> {
    let plan = crate::ops::upgrade::plan(ctx, name, asked, retry_failed)?;
    if json {
        return super::print_json(&PlanJson {
            components: plan.components.iter().map(PlannedChange::from).collect(),
            plan: &plan,
        });
    }
    let not_installed = if plan.installed {
        ""
    } else {
        " (not installed)"
    };
    println!(
        "plan for {}{not_installed}: manifest {} from {} at {}",
        plan.instance, plan.manifest.file, plan.manifest.source, plan.manifest.describe
    );
    for change in &plan.components {
        println!("  {}", change_line(change));
    }
    for setting in &plan.service {
        println!(
            "  ~ {}: {} -> {}",
            setting.key,
            setting.old.as_deref().unwrap_or("(none)"),
            setting.new.as_deref().unwrap_or("(none)")
        );
    }
    for secret in &plan.secrets {
        println!("  {}", secret.describe());
    }
    if let Some(refusal) = &plan.refusal {
        println!(
            "{} would refuse (exit {}): {}",
            plan.action.name(),
            refusal.exit_code,
            refusal.error
        );
    } else if !plan.installed {
        println!(
            "install would build the first release ({} components)",
            plan.change_count()
        );
    } else if plan.up_to_date {
        println!("up to date: upgrade would not build a new release");
    } else {
        println!(
            "upgrade would build a new release ({} components, {} service settings and {} secrets change)",
            plan.change_count(),
            plan.service.len(),
            plan.secrets.len()
        );
    }
    Ok(())
}

/// `plan --json`: the plan with its components rendered.
#[derive(serde::Serialize)]
struct PlanJson<'a> {
    #[serde(flatten)]
    plan: &'a crate::ops::upgrade::Plan,
    components: Vec<PlannedChange>,
}
