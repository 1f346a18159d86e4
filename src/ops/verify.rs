//! `verify NAME`: the current release compared with its lava.lock.

use anyhow::Context as _;

use super::deploy::require_current;
use super::source::recorded_branch;
use super::Context;
use crate::core::error::Result;
use crate::core::lock::LockedComponent;
use crate::core::names::{InstanceName, ReleaseName};

#[derive(Debug, Clone)]
pub struct Verified {
    pub release: ReleaseName,
    /// Source trees compared.
    pub trees: usize,
    /// Python packages compared.
    pub packages: usize,
    /// Overridden components (not checked), with their override.
    pub overridden: Vec<(String, String)>,
    /// Every difference, one sentence each; empty: the release matches.
    pub differences: Vec<String>,
}

pub fn verify(ctx: &Context, name: &InstanceName) -> Result<Verified> {
    let (instance, _) = ctx.existing_instance(name)?;
    let (release, lock) = require_current(&instance)?;
    let release_dir = instance.release_dir(&release);
    let branch = recorded_branch(ctx, &lock)?;
    let scratch = tempfile::Builder::new().prefix("lava-verify-").tempdir()?;
    let mut report = Verified {
        release,
        trees: 0,
        packages: 0,
        overridden: Vec::new(),
        differences: Vec::new(),
    };
    for (component, locked) in &lock.components {
        if matches!(locked, LockedComponent::Python { .. }) {
            continue;
        }
        if let Some(found) = lock.overrides.get(component) {
            report
                .overridden
                .push((component.to_string(), found.describe()));
            continue;
        }
        let expected = scratch.path().join(component.as_str());
        super::build::fetch_component(ctx, &branch, locked, &expected).with_context(|| {
            format!("component {component}: cannot get the pinned tree to compare with")
        })?;
        let actual = release_dir.join("src").join(component.as_str());
        for difference in crate::infra::fs::compare_trees(&expected, &actual)? {
            report
                .differences
                .push(format!("component {component}: {difference}"));
        }
        report.trees += 1;
    }
    if let Some(environment) = &lock.environment {
        let installed = crate::infra::python::dist::installed(&release_dir.join("env"))?;
        for (key, package) in &environment.packages {
            report.packages += 1;
            match installed.get(key) {
                None => report.differences.push(format!(
                    "python package {} {} is not installed",
                    package.name, package.version
                )),
                Some(found) if found.version != package.version => {
                    report.differences.push(format!(
                        "python package {} is {} but the lock says {}",
                        package.name, found.version, package.version
                    ))
                }
                Some(_) => {}
            }
        }
        for (key, found) in &installed {
            if !environment.packages.contains_key(key)
                && !matches!(key.as_str(), "pip" | "setuptools" | "wheel")
            {
                report.differences.push(format!(
                    "python package {} {} is installed but not in the lock",
                    found.name, found.version
                ));
            }
        }
    }
    Ok(report)
}
