//! Where the manifest comes from and which one is used: the request
//! (`SourceRequest`) and what the instance recorded make a `Selection`,
//! which `load` opens (`branch`: a git branch mirrored into the cache, or
//! the built-in manifests), checks, and reads through its files (`tree`,
//! which the readers see as [`crate::readers::BranchFiles`]).

mod branch;
mod tree;

use std::path::PathBuf;

pub use branch::{BranchSpec, ManifestBranch};
pub use tree::BranchTree;

use super::trust::Trust;
use super::Context;
use crate::core::error::{Result, ResultExt};
use crate::core::lock::LockFile;
use crate::core::model::Manifest;
use crate::core::record::SourceRecord;
use crate::invalid;
use crate::readers::{normalize_branch_path, BranchFiles};

/// Manifest file used when none is selected, and the fallback when the
/// branch has no such file.
pub const DEFAULT_CFG: &str = "lava.toml";
pub const FALLBACK_CFG: &str = "buildout.cfg";

/// Which manifest the user asked for (flags or environment; the CLI merges
/// them, flags first). `None` fields: not asked.
#[derive(Debug, Clone, Default)]
pub struct SourceRequest {
    pub manifest_branch: Option<String>,
    pub cfg: Option<String>,
    /// `--manifest-signers`: an allowed-signers file the manifest's
    /// signature must be checked against.
    pub signers: Option<PathBuf>,
    /// `--manifest-revoked`: keys that no longer count.
    pub revoked: Option<PathBuf>,
}

/// The manifest branch and file to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub spec: BranchSpec,
    /// `None`: the default rule.
    pub cfg: Option<String>,
    /// `Some`: the manifest must be signed.
    pub trust: Option<Trust>,
}

impl Selection {
    /// What was asked wins over what the instance recorded; nothing at all
    /// means the built-in manifests.
    pub fn choose(asked: &SourceRequest, recorded: Option<&SourceRecord>) -> Result<Self> {
        let spec = match (&asked.manifest_branch, recorded) {
            (Some(spec), _) => BranchSpec::parse(spec)?,
            (None, Some(recorded)) => BranchSpec::parse(&recorded.branch).map_err(|err| {
                err.context("the manifest branch recorded in instance.toml is not usable")
            })?,
            (None, None) => BranchSpec::Builtin,
        };
        let cfg = match &asked.cfg {
            Some(cfg) if !cfg.trim().is_empty() => Some(cfg.trim().to_owned()),
            _ => recorded.and_then(|r| r.cfg.clone()),
        };
        let trust =
            super::trust::choose(asked.signers.as_deref(), asked.revoked.as_deref(), recorded)?;
        Ok(Selection { spec, cfg, trust })
    }

    pub fn to_record(&self) -> SourceRecord {
        let path = |p: &PathBuf| p.display().to_string();
        SourceRecord {
            branch: self.spec.to_spec_string(),
            cfg: self.cfg.clone(),
            signers: self.trust.as_ref().map(|t| path(&t.signers)),
            revoked: self
                .trust
                .as_ref()
                .and_then(|t| t.revoked.as_ref())
                .map(path),
        }
    }
}

/// A manifest read from its branch.
pub struct Loaded {
    pub branch: ManifestBranch,
    pub manifest: Manifest,
}

/// Opens the selected branch, checks its signature when the selection
/// requires one (before anything of it is used), and reads its manifest.
pub fn load(ctx: &Context, selection: &Selection) -> Result<Loaded> {
    let mut branch = ManifestBranch::open(&selection.spec, &ctx.git)?;
    if let Some(trust) = &selection.trust {
        branch.verify(&ctx.git, trust)?;
    }
    let file = select_file(&branch, selection.cfg.as_deref())?;
    tracing::info!(
        "manifest {file} from {} at {}",
        branch.spec.to_spec_string(),
        branch.describe
    );
    let manifest = crate::readers::load(&branch.tree, &file)?;
    Ok(Loaded { branch, manifest })
}

/// The manifest branch a lock was made from, at its recorded commit (from
/// the cache when it is there).
pub fn recorded_branch(ctx: &Context, lock: &LockFile) -> Result<ManifestBranch> {
    let spec = BranchSpec::parse(&lock.manifest.source)?;
    ManifestBranch::at_recorded_commit(&spec, &ctx.git, &lock.manifest.commit).context_of(|| {
        format!(
            "cannot open the manifest branch {} at {}",
            lock.manifest.source, lock.manifest.commit
        )
    })
}

/// Picks the manifest file: the selection, else `lava.toml`, else
/// `buildout.cfg`. A missing file names it and lists what the branch has.
pub fn select_file(branch: &ManifestBranch, cfg: Option<&str>) -> Result<String> {
    let tree = &branch.tree;
    let candidates: Vec<&str> = match cfg {
        Some(cfg) => vec![cfg],
        None => vec![DEFAULT_CFG, FALLBACK_CFG],
    };
    for candidate in &candidates {
        if let Some(path) = normalize_branch_path(candidate) {
            if tree.read_file(&path)?.is_some() {
                return Ok(path);
            }
        }
    }
    let files = tree.manifest_files()?;
    let listing = if files.is_empty() {
        "it has no *.toml or *.cfg files".to_owned()
    } else {
        format!("manifest files in the branch: {}", files.join(", "))
    };
    Err(invalid!(
        "manifest file {} not found in the manifest branch {} (commit {}); {listing}; \
         select one with --cfg or LAVA_BUILDOUT_CFG",
        candidates.join(" or "),
        branch.spec.to_spec_string(),
        branch.commit
    ))
}
