//! `prune`, `remove` and `verify`: keeping instances tidy and honest.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context as _, Result};

use crate::context::Context;
use crate::deploy;
use crate::invalid;

/// Releases `upgrade` keeps, and `prune` without `--keep`.
pub const DEFAULT_KEEP: usize = 5;

pub fn prune(ctx: &Context, name: &str, keep: usize) -> Result<()> {
    let (instance, _) = super::existing_instance(ctx, name)?;
    let _lock = instance.lock("prune", ctx.config.wait)?;
    instance.remove_leftovers()?;
    let removed = instance.prune(keep)?;
    if removed.is_empty() {
        println!("{}: nothing to prune", instance.name);
    } else {
        println!("{}: removed {}", instance.name, removed.join(", "));
    }
    Ok(())
}

pub fn remove(ctx: &Context, name: &str, yes: bool) -> Result<()> {
    let (instance, _) = super::existing_instance(ctx, name)?;
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
    let lock = instance.lock("remove", ctx.config.wait)?;
    // Renamed away first, so a half-finished removal never looks like an instance.
    let doomed = crate::cache::temp_sibling(&instance.dir);
    std::fs::rename(&instance.dir, &doomed)
        .with_context(|| format!("cannot remove {}", instance.dir.display()))?;
    drop(lock);
    crate::layout::remove_path(&doomed)?;
    println!("removed instance {name} (the shared cache is kept)");
    Ok(())
}

pub fn verify(ctx: &Context, name: &str) -> Result<()> {
    let (instance, _) = super::existing_instance(ctx, name)?;
    let (release, lock) = deploy::require_current(&instance)?;
    let release_dir = instance.release_dir(&release);
    let branch = deploy::recorded_branch(ctx, &lock)?;
    let scratch = tempfile::Builder::new().prefix("lava-verify-").tempdir()?;
    let mut differences = Vec::new();
    let mut checked = 0;
    for (component, locked) in &lock.components {
        if matches!(locked, crate::lockfile::LockedComponent::Python { .. }) {
            continue;
        }
        if let Some(found) = lock.overrides.get(component) {
            println!(
                "{component}: overridden by {} (not checked)",
                found.describe()
            );
            continue;
        }
        let expected = scratch.path().join(component);
        crate::build::fetch_component(ctx, &branch, locked, &expected).with_context(|| {
            format!("component {component}: cannot get the pinned tree to compare with")
        })?;
        let actual = release_dir.join("src").join(component);
        for difference in crate::util::compare_trees(&expected, &actual)? {
            differences.push(format!("component {component}: {difference}"));
        }
        checked += 1;
    }
    let mut packages = 0;
    if let Some(environment) = &lock.environment {
        let installed = crate::python::dist::installed(&release_dir.join("env"))?;
        for (key, package) in &environment.packages {
            packages += 1;
            match installed.get(key) {
                None => differences.push(format!(
                    "python package {} {} is not installed",
                    package.name, package.version
                )),
                Some(found) if found.version != package.version => differences.push(format!(
                    "python package {} is {} but the lock says {}",
                    package.name, found.version, package.version
                )),
                Some(_) => {}
            }
        }
        for (key, found) in &installed {
            if !environment.packages.contains_key(key)
                && !matches!(key.as_str(), "pip" | "setuptools" | "wheel")
            {
                differences.push(format!(
                    "python package {} {} is installed but not in the lock",
                    found.name, found.version
                ));
            }
        }
    }
    if differences.is_empty() {
        println!("{name}: release {release} matches its lava.lock ({checked} source trees, {packages} python packages)");
        return Ok(());
    }
    for difference in &differences {
        println!("{difference}");
    }
    anyhow::bail!(
        "release {release} of {name} differs from its lava.lock in {} places (listed above); \
         `lava-deploy rebuild {name}` makes a fresh release",
        differences.len()
    )
}
