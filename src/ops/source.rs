//! Where the manifest comes from: the built-in `manifests/` directory or a
//! git branch mirrored into the cache, and reading files out of either (the
//! readers see them through [`BranchFiles`]).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use include_dir::{include_dir, Dir, DirEntry};
use sha2::{Digest, Sha256};

use super::trust::{Target, Trust};
use super::Context;
use crate::core::error::{Result, ResultExt};
use crate::core::lock::LockFile;
use crate::core::model::Manifest;
use crate::core::record::SourceRecord;
use crate::core::trust::ManifestSignature;
use crate::infra::git::{GitCache, GitTree, ResolvedRev};
use crate::invalid;
use crate::readers::{normalize_branch_path, BranchFiles};

/// The project's `manifests/` directory, compiled in: the default branch.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/manifests");

/// What `LAVA_MANIFEST_BRANCH` / `--manifest-branch` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BranchSpec {
    Builtin,
    Git {
        /// URL, or an absolute local path.
        url: String,
        /// Branch, tag or commit; `None`: the default branch.
        reference: Option<String>,
    },
}

/// Manifest file used when none is selected, and the fallback when the
/// branch has no such file.
pub const DEFAULT_CFG: &str = "lava.toml";
pub const FALLBACK_CFG: &str = "buildout.cfg";
const BUILTIN_SPEC: &str = "builtin";

impl BranchSpec {
    /// Parses `REPO[#REF]`. Local paths are made absolute so that a recorded
    /// spec works from any working directory.
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        if spec.is_empty() || spec == BUILTIN_SPEC {
            return Ok(BranchSpec::Builtin);
        }
        let (repo, reference) = match spec.rsplit_once('#') {
            Some((repo, reference)) if !reference.is_empty() => (repo, Some(reference.to_owned())),
            Some((repo, _)) => (repo, None),
            None => (spec, None),
        };
        if repo.is_empty() {
            return Err(invalid!(
                "manifest branch {spec:?} names no repository before '#'"
            ));
        }
        let url = if is_remote(repo) {
            repo.to_owned()
        } else {
            let path = Path::new(repo);
            let absolute = path.canonicalize().map_err(|err| {
                invalid!(
                    "manifest branch {repo:?} is neither a URL nor an existing directory ({err}); \
                     give a git URL (https://, ssh://, file://) or the path of a git repository"
                )
            })?;
            absolute.to_string_lossy().into_owned()
        };
        Ok(BranchSpec::Git { url, reference })
    }

    /// The spec as written back into `instance.toml` and shown to users.
    pub fn to_spec_string(&self) -> String {
        match self {
            BranchSpec::Builtin => BUILTIN_SPEC.to_owned(),
            BranchSpec::Git {
                url,
                reference: Some(r),
            } => format!("{url}#{r}"),
            BranchSpec::Git {
                url,
                reference: None,
            } => url.clone(),
        }
    }
}

fn is_remote(repo: &str) -> bool {
    repo.contains("://") || (repo.contains('@') && repo.contains(':') && !repo.starts_with('/'))
}

/// A manifest branch at one commit.
pub struct ManifestBranch {
    pub spec: BranchSpec,
    /// The commit, or `builtin-<version>` for the built-in manifests.
    pub commit: String,
    /// `git describe --tags` style, else date and short commit.
    pub describe: String,
    pub tree: BranchTree,
    /// The verified signature of the commit or tag, when one was required.
    pub signature: Option<ManifestSignature>,
}

/// The files of a manifest branch at one commit.
pub enum BranchTree {
    Builtin,
    Git(GitTree),
    /// A plain directory (`manifest convert` of a file on disk).
    Local(PathBuf),
}

impl ManifestBranch {
    pub fn open(spec: &BranchSpec, git: &GitCache, offline: bool) -> Result<Self> {
        match spec {
            BranchSpec::Builtin => Ok(ManifestBranch {
                spec: spec.clone(),
                commit: format!("builtin-{}", env!("CARGO_PKG_VERSION")),
                describe: format!("builtin-{}", env!("CARGO_PKG_VERSION")),
                tree: BranchTree::Builtin,
                signature: None,
            }),
            BranchSpec::Git { url, reference } => {
                let mirror = git.mirror(url)?;
                let resolved =
                    mirror
                        .resolve(reference.as_deref(), offline)
                        .with_context(|| {
                            format!("cannot read the manifest branch {}", spec.to_spec_string())
                        })?;
                Ok(Self::at_commit(spec, git, resolved)?)
            }
        }
    }

    /// The branch at a commit already in the cache (a release's lock).
    pub fn at_recorded_commit(
        spec: &BranchSpec,
        git: &GitCache,
        commit: &str,
        offline: bool,
    ) -> Result<Self> {
        match spec {
            BranchSpec::Builtin => Self::open(spec, git, offline),
            BranchSpec::Git { url, .. } => {
                let mirror = git.mirror(url)?;
                let resolved = mirror.resolve(Some(commit), offline)?;
                Ok(Self::at_commit(spec, git, resolved)?)
            }
        }
    }

    /// Checks the signature of the commit (or of the tag it was selected
    /// by) against `trust`, and keeps it.
    pub fn verify(&mut self, git: &GitCache, trust: &Trust) -> Result<()> {
        let target = match &self.spec {
            BranchSpec::Builtin => Target::Builtin,
            BranchSpec::Git { url, reference } => Target::Git {
                url,
                reference: reference.as_deref(),
                commit: &self.commit,
                spec: self.spec.to_spec_string(),
            },
        };
        let signature = super::trust::verify(git, &target, trust)?;
        tracing::info!("manifest signed by {}", signature.describe());
        self.signature = Some(signature);
        Ok(())
    }

    fn at_commit(spec: &BranchSpec, git: &GitCache, resolved: ResolvedRev) -> anyhow::Result<Self> {
        let BranchSpec::Git { url, .. } = spec else {
            unreachable!("only git branches have commits")
        };
        let mirror = git.mirror(url)?;
        let repo = mirror.open()?;
        Ok(ManifestBranch {
            spec: spec.clone(),
            commit: resolved.commit.to_string(),
            describe: mirror.describe(&repo, resolved.commit),
            tree: BranchTree::Git(mirror.tree_at(&repo, resolved.commit)?),
            signature: None,
        })
    }
}

impl BranchFiles for BranchTree {
    fn read_file(&self, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
        // On disk, `../x.cfg` and `/etc/x.cfg` are files too (`reaches_outside`).
        let path = match (self, normalize_branch_path(path)) {
            (_, Some(path)) => path,
            (BranchTree::Local(_), None) => path.to_owned(),
            (_, None) => return Ok(None),
        };
        match self {
            BranchTree::Builtin => Ok(BUILTIN.get_file(&path).map(|f| f.contents().to_vec())),
            BranchTree::Local(dir) => match fs_err::read(dir.join(&path)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(err.into()),
            },
            BranchTree::Git(tree) => tree.read_file(&path),
        }
    }

    fn is_dir(&self, path: &str) -> anyhow::Result<bool> {
        match self {
            BranchTree::Builtin => Ok(BUILTIN.get_dir(path).is_some()),
            BranchTree::Local(dir) => Ok(dir.join(path).is_dir()),
            BranchTree::Git(tree) => tree.is_dir(path),
        }
    }

    fn files(&self) -> anyhow::Result<Vec<String>> {
        let mut files = Vec::new();
        match self {
            BranchTree::Builtin => collect_builtin(&BUILTIN, &mut files),
            BranchTree::Local(dir) => collect_local(dir, "", &mut files)?,
            BranchTree::Git(tree) => files = tree.files()?,
        }
        files.sort();
        Ok(files)
    }

    fn reaches_outside(&self) -> bool {
        matches!(self, BranchTree::Local(_))
    }
}

/// The files under a directory on disk, as branch paths; hidden entries
/// (`.git`) are not part of a manifest.
fn collect_local(dir: &Path, prefix: &str, files: &mut Vec<String>) -> anyhow::Result<()> {
    for name in crate::infra::fs::dir_names(dir)? {
        let path = dir.join(&name);
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_local(&path, &format!("{prefix}{name}/"), files)?;
        } else if path.is_file() {
            files.push(format!("{prefix}{name}"));
        }
    }
    Ok(())
}

impl BranchTree {
    /// A digest of a directory's contents, recorded in the lock so that a
    /// changed `path` component makes a new release.
    pub fn dir_digest(&self, path: &str) -> anyhow::Result<String> {
        match self {
            BranchTree::Local(dir) => Err(not_deployable(dir)),
            BranchTree::Builtin => {
                let (_, mut files) = builtin_dir_files(path)?;
                files.sort_by_key(|f| f.path());
                let mut hasher = Sha256::new();
                for file in files {
                    hasher.update(file.path().to_string_lossy().as_bytes());
                    hasher.update([0]);
                    hasher.update((file.contents().len() as u64).to_le_bytes());
                    hasher.update(file.contents());
                }
                Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
            }
            BranchTree::Git(tree) => Ok(format!("git:{}", tree.entry_id(path)?)),
        }
    }

    /// Writes the directory `path` of the branch to `dest`.
    pub fn export_dir(&self, path: &str, dest: &Path) -> anyhow::Result<()> {
        match self {
            BranchTree::Local(dir) => Err(not_deployable(dir)),
            BranchTree::Builtin => {
                let (dir, files) = builtin_dir_files(path)?;
                fs_err::create_dir_all(dest)?;
                for file in files {
                    let relative = file.path().strip_prefix(dir.path()).unwrap_or(file.path());
                    let target = dest.join(relative);
                    if let Some(parent) = target.parent() {
                        fs_err::create_dir_all(parent)?;
                    }
                    fs_err::write(&target, file.contents())?;
                }
                Ok(())
            }
            BranchTree::Git(tree) => tree.export_dir(path, dest),
        }
    }
}

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
    let mut branch = ManifestBranch::open(&selection.spec, &ctx.git, ctx.settings.offline)?;
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
    ManifestBranch::at_recorded_commit(&spec, &ctx.git, &lock.manifest.commit, ctx.settings.offline)
        .context_of(|| {
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

/// A `path` component cannot come from a directory on disk (`manifest
/// convert` reads one only to print it).
fn not_deployable(dir: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "path components are only deployed from a manifest branch, not from {}",
        dir.display()
    )
}

/// The built-in directory `path` and every file under it.
fn builtin_dir_files(
    path: &str,
) -> anyhow::Result<(
    &'static Dir<'static>,
    Vec<&'static include_dir::File<'static>>,
)> {
    // `.`: the built-in manifests themselves, as for a branch's root.
    let dir = if path.is_empty() || path == "." {
        &BUILTIN
    } else {
        BUILTIN
            .get_dir(path)
            .with_context(|| format!("{path} is not a directory of the built-in manifests"))?
    };
    let mut files = Vec::new();
    collect_builtin_files(dir, &mut files);
    Ok((dir, files))
}

fn collect_builtin(dir: &'static Dir<'static>, out: &mut Vec<String>) {
    let mut files = Vec::new();
    collect_builtin_files(dir, &mut files);
    out.extend(
        files
            .iter()
            .map(|f| f.path().to_string_lossy().into_owned()),
    );
}

fn collect_builtin_files(
    dir: &'static Dir<'static>,
    out: &mut Vec<&'static include_dir::File<'static>>,
) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => collect_builtin_files(sub, out),
            DirEntry::File(file) => out.push(file),
        }
    }
}
