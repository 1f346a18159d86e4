//! `upgrade NAME` (re-read the manifest branch, switch to a new release only
//! when the resolved lock changed), `plan NAME` (what upgrade would do) and
//! `rebuild NAME` (a new release from the current lock plus local/).

use serde::Serialize;

use super::deploy::{deploy, require_current};
use super::source::{load, recorded_branch, Selection, SourceRequest};
use super::{Context, DEFAULT_KEEP};
use crate::core::error::Result;
use crate::core::lock::{diff, ComponentChange, LockedManifest};
use crate::core::names::ReleaseName;
use crate::store::Instance;

/// What an upgrade did.
#[derive(Debug, Clone)]
pub struct Upgraded {
    pub instance: Instance,
    /// The release current now.
    pub release: Option<ReleaseName>,
    pub previous: Option<ReleaseName>,
    /// Whether a new release was built and switched to.
    pub built: bool,
    /// The instance now follows another manifest source.
    pub source_changed: bool,
    pub changes: Vec<ComponentChange>,
    /// Old releases removed afterwards.
    pub pruned: Vec<String>,
}

pub fn upgrade(ctx: &Context, name: &str, asked: &SourceRequest) -> Result<Upgraded> {
    let (instance, _) = ctx.existing_instance(name)?;
    let _lock = instance.lock("upgrade", ctx.settings.wait)?;
    let mut record = instance.read_record()?;
    let selection = Selection::choose(asked, Some(&record.source))?;
    let loaded = load(ctx, &selection)?;
    let mut lock = super::resolve::resolve(ctx, &loaded.branch, &loaded.manifest)?;
    super::overrides::apply(&instance, &mut lock)?;
    let source_changed = record.source != selection.to_record();
    record.source = selection.to_record();

    let current = instance.current_lock()?;
    let changes = diff(current.as_ref().map(|(_, l)| l), &lock);
    let previous = current.as_ref().map(|(release, _)| release.clone());
    if let Some((_, current_lock)) = &current {
        if current_lock.same_build(&lock) {
            if source_changed {
                instance.write_record(&record)?;
            }
            return Ok(Upgraded {
                instance,
                release: previous.clone(),
                previous,
                built: false,
                source_changed,
                changes,
                pruned: Vec::new(),
            });
        }
    }
    for change in changes.iter().filter(|c| c.is_change()) {
        tracing::info!("{}", change.describe());
    }
    let release = deploy(
        ctx,
        &instance,
        &mut record,
        &lock,
        &loaded.branch,
        "upgrade",
    )?;
    let pruned = instance.prune(DEFAULT_KEEP)?;
    if !pruned.is_empty() {
        tracing::info!("pruned old releases: {}", pruned.join(", "));
    }
    Ok(Upgraded {
        instance,
        release: Some(release),
        previous,
        built: true,
        source_changed,
        changes,
        pruned,
    })
}

/// What `upgrade` would change.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub instance: String,
    pub current: Option<ReleaseName>,
    pub manifest: LockedManifest,
    pub up_to_date: bool,
    pub components: Vec<ComponentChange>,
}

impl Plan {
    /// How many components would change.
    pub fn change_count(&self) -> usize {
        self.components.iter().filter(|c| c.is_change()).count()
    }
}

pub fn plan(ctx: &Context, name: &str, asked: &SourceRequest) -> Result<Plan> {
    let (instance, record) = ctx.existing_instance(name)?;
    let selection = Selection::choose(asked, Some(&record.source))?;
    let loaded = load(ctx, &selection)?;
    let mut lock = super::resolve::resolve(ctx, &loaded.branch, &loaded.manifest)?;
    super::overrides::apply(&instance, &mut lock)?;
    let current = instance.current_lock()?;
    Ok(Plan {
        instance: instance.name.to_string(),
        up_to_date: current.as_ref().is_some_and(|(_, l)| l.same_build(&lock)),
        current: current.as_ref().map(|(r, _)| r.clone()),
        components: diff(current.as_ref().map(|(_, l)| l), &lock),
        manifest: lock.manifest,
    })
}

pub fn rebuild(ctx: &Context, name: &str) -> Result<ReleaseName> {
    let (instance, _) = ctx.existing_instance(name)?;
    let _lock = instance.lock("rebuild", ctx.settings.wait)?;
    rebuild_locked(ctx, &instance, "rebuild")
}

/// Rebuilds while the caller holds the instance lock.
pub fn rebuild_locked(ctx: &Context, instance: &Instance, command: &str) -> Result<ReleaseName> {
    let mut record = instance.read_record()?;
    let (current, mut lock) = require_current(instance)?;
    tracing::info!("rebuilding from release {current}");
    let branch = recorded_branch(ctx, &lock)?;
    lock.environment = None;
    super::overrides::apply(instance, &mut lock)?;
    deploy(ctx, instance, &mut record, &lock, &branch, command)
}
