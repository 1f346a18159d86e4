//! The operations behind install and upgrade: choose the manifest source,
//! load and resolve it, build a release and switch to it.

use anyhow::{Context as _, Result};

use crate::build::build_release;
use crate::cli::SourceArgs;
use crate::context::Context;
use crate::layout::Instance;
use crate::lockfile::LockFile;
use crate::manifest::{self, source::select_file, BranchSpec, Manifest, ManifestBranch};
use crate::record::{InstanceRecord, ReleaseEntry, SourceRecord};

/// The manifest branch and file to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub spec: BranchSpec,
    /// `None`: the default rule.
    pub cfg: Option<String>,
}

impl Selection {
    /// Flags and environment (already merged by clap, flags first) win over
    /// what the instance recorded; nothing at all means the built-in manifests.
    pub fn choose(args: &SourceArgs, recorded: Option<&SourceRecord>) -> Result<Self> {
        let spec = match (&args.manifest_branch, recorded) {
            (Some(spec), _) => BranchSpec::parse(spec)?,
            (None, Some(recorded)) => BranchSpec::parse(&recorded.branch)
                .context("the manifest branch recorded in instance.toml is not usable")?,
            (None, None) => BranchSpec::Builtin,
        };
        let cfg = match &args.cfg {
            Some(cfg) if !cfg.trim().is_empty() => Some(cfg.trim().to_owned()),
            _ => recorded.and_then(|r| r.cfg.clone()),
        };
        Ok(Selection { spec, cfg })
    }

    pub fn to_record(&self) -> SourceRecord {
        SourceRecord {
            branch: self.spec.to_spec_string(),
            cfg: self.cfg.clone(),
        }
    }
}

/// A manifest read from its branch.
pub struct Loaded {
    pub branch: ManifestBranch,
    pub manifest: Manifest,
}

pub fn load(ctx: &Context, selection: &Selection) -> Result<Loaded> {
    let branch = ManifestBranch::open(&selection.spec, &ctx.git, ctx.config.offline)?;
    let file = select_file(&branch, selection.cfg.as_deref())?;
    tracing::info!(
        "manifest {file} from {} at {}",
        branch.spec.to_spec_string(),
        branch.describe
    );
    let manifest = manifest::load(&branch.tree, &file)?;
    Ok(Loaded { branch, manifest })
}

/// Builds a new release of `instance` from `lock`, switches `current` to it
/// and records it. `current` changes only after the release is complete.
pub fn deploy(
    ctx: &Context,
    instance: &Instance,
    record: &mut InstanceRecord,
    lock: &LockFile,
    branch: &ManifestBranch,
    command: &str,
) -> Result<String> {
    // Numbered before leftovers go, so not even a failed attempt's number is reused.
    let release = instance.next_release_name(record.max_release_number(), &branch.describe)?;
    instance.remove_leftovers()?;
    let local = instance.local_dir();
    std::fs::create_dir_all(&local)
        .with_context(|| format!("cannot create {}", local.display()))?;
    tracing::info!("building release {release}");
    build_release(ctx, instance, &release, lock, branch)?;
    record.releases.push(ReleaseEntry {
        name: release.clone(),
        created: crate::util::now_rfc3339(),
        command: command.to_owned(),
        manifest_commit: lock.manifest.commit.clone(),
        manifest_file: lock.manifest.file.clone(),
    });
    // Recorded before the switch: a number once used is never used again.
    record.write(&instance.record_path())?;
    crate::failpoint::hit("before-switch");
    instance.switch_current(&release)?;
    Ok(release)
}

/// The current release and its lock, or an error saying there is none.
pub fn require_current(instance: &Instance) -> Result<(String, LockFile)> {
    current_lock(instance)?.ok_or_else(|| {
        crate::invalid!(
            "instance {} has no working release; run `lava-deploy install {}` first",
            instance.name,
            instance.name
        )
    })
}

/// The manifest branch a lock was made from, at its recorded commit (from
/// the cache when it is there).
pub fn recorded_branch(ctx: &Context, lock: &LockFile) -> Result<ManifestBranch> {
    let spec = BranchSpec::parse(&lock.manifest.source)?;
    ManifestBranch::at_recorded_commit(&spec, &ctx.git, &lock.manifest.commit, ctx.config.offline)
        .with_context(|| {
            format!(
                "cannot open the manifest branch {} at {}",
                lock.manifest.source, lock.manifest.commit
            )
        })
}

/// The lock of the release `current` points at.
pub fn current_lock(instance: &Instance) -> Result<Option<(String, LockFile)>> {
    let Some(release) = instance.current_release() else {
        return Ok(None);
    };
    let lock = LockFile::read(
        &instance
            .release_dir(&release)
            .join(crate::layout::LOCK_FILE),
    )?;
    Ok(Some((release, lock)))
}
