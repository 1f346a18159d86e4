//! From a lock to the instance's new `current`: build the release, record
//! it, switch. `current` changes only after the release is complete.

use anyhow::Context as _;

use super::build::build_release;
use super::source::ManifestBranch;
use super::Context;
use crate::core::error::Result;
use crate::core::lock::LockFile;
use crate::core::names::ReleaseName;
use crate::core::record::{InstanceRecord, ReleaseEntry};
use crate::store::Instance;

/// Builds a new release of `instance` from `lock`, switches `current` to it
/// and records it.
pub fn deploy(
    ctx: &Context,
    instance: &Instance,
    record: &mut InstanceRecord,
    lock: &LockFile,
    branch: &ManifestBranch,
    command: &str,
) -> Result<ReleaseName> {
    // Numbered before leftovers go, so not even a failed attempt's number is reused.
    let release = instance.next_release_name(record.max_release_number(), &branch.describe)?;
    instance.remove_leftovers()?;
    let local = instance.local_dir();
    fs_err::create_dir_all(&local).context("cannot create the local override directory")?;
    tracing::info!("building release {release}");
    build_release(ctx, instance, &release, lock, branch)?;
    record.releases.push(ReleaseEntry {
        name: release.clone(),
        created: crate::core::time::rfc3339(std::time::SystemTime::now()),
        command: command.to_owned(),
        manifest_commit: lock.manifest.commit.clone(),
        manifest_file: lock.manifest.file.clone(),
    });
    // Recorded before the switch: a number once used is never used again.
    instance.write_record(record)?;
    crate::infra::failpoint::hit("before-switch");
    instance.switch_current(&release)?;
    Ok(release)
}

/// The current release and its lock, or an error saying there is none.
pub fn require_current(instance: &Instance) -> Result<(ReleaseName, LockFile)> {
    instance.current_lock()?.ok_or_else(|| {
        crate::invalid!(
            "instance {} has no working release; run `lava-deploy install {}` first",
            instance.name,
            instance.name
        )
    })
}
