//! `plan NAME`: what `upgrade` would change, component by component.

use crate::core::error::Result;
use crate::ops::source::SourceRequest;
use crate::ops::Context;

pub fn run(ctx: &Context, name: &str, asked: &SourceRequest, json: bool) -> Result<()> {
    let plan = crate::ops::upgrade::plan(ctx, name, asked)?;
    if json {
        return super::print_json(&plan);
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
        println!("  {}", change.describe());
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
    for command in &plan.missing_secret_commands {
        println!("  ! required secret not set: `{command}` sets it (install and upgrade stop until then)");
    }
    if !plan.installed {
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
