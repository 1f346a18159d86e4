//! `prune`, `remove` and `verify`: keeping instances tidy and honest.

use std::io::{BufRead, IsTerminal, Write};

use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::invalid;
use crate::ops::Context;

pub fn prune(ctx: &Context, name: &InstanceName, keep: usize) -> Result<()> {
    let (instance, removed) = crate::ops::maintain::prune(ctx, name, keep)?;
    if removed.is_empty() {
        println!("{}: nothing to prune", instance.name);
    } else {
        println!("{}: removed {}", instance.name, removed.join(", "));
    }
    Ok(())
}

pub fn remove(ctx: &Context, name: &InstanceName, yes: bool) -> Result<()> {
    // Also an instance that has only its secrets so far.
    let instance = crate::ops::secrets::known_instance(ctx, name)?;
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(invalid!(
                "removing instance {name} deletes {} (releases, local/ and its links); \
                 pass --yes to confirm when not on a terminal",
                instance.dir.display()
            ));
        }
        print!(
            "Remove instance {name} and everything in {}? [y/N] ",
            instance.dir.display()
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("not removed");
            return Ok(());
        }
    }
    let kept = crate::ops::maintain::remove(ctx, &instance)?;
    println!("removed instance {name} (the shared cache is kept)");
    if let Some(kept) = kept {
        println!("its history is kept in {}", kept.display());
    }
    Ok(())
}

pub fn verify(ctx: &Context, name: &InstanceName) -> Result<()> {
    let report = crate::ops::verify::verify(ctx, name)?;
    for (component, found) in &report.overridden {
        println!("{component}: overridden by {found} (not checked)");
    }
    if report.differences.is_empty() {
        println!(
            "{name}: release {} matches its lava.lock ({} source trees, {} python packages)",
            report.release, report.trees, report.packages
        );
        return Ok(());
    }
    for difference in &report.differences {
        println!("{difference}");
    }
    Err(anyhow::anyhow!(
        "release {} of {name} differs from its lava.lock in {} places (listed above); \
         `lava-deploy rebuild {name}` makes a fresh release",
        report.release,
        report.differences.len()
    )
    .into())
}
