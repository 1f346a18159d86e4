//! A manifest branch: its spec (`REPO[#REF]` or `builtin`) and the branch
//! at one commit, its signature checked when the instance requires one.

use std::path::Path;

use anyhow::Context as _;

use super::tree::BranchTree;
use crate::core::error::Result;
use crate::core::trust::ManifestSignature;
use crate::infra::git::{GitCache, ResolvedRev};
use crate::invalid;
use crate::ops::trust::{Target, Trust};

const BUILTIN_SPEC: &str = "builtin";

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

impl ManifestBranch {
    pub fn open(spec: &BranchSpec, git: &GitCache) -> Result<Self> {
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
                let resolved = mirror.resolve(reference.as_deref()).with_context(|| {
                    format!("cannot read the manifest branch {}", spec.to_spec_string())
                })?;
                Ok(Self::at_commit(spec, git, resolved)?)
            }
        }
    }

    /// The branch at a commit already in the cache (a release's lock).
    pub fn at_recorded_commit(spec: &BranchSpec, git: &GitCache, commit: &str) -> Result<Self> {
        match spec {
            BranchSpec::Builtin => Self::open(spec, git),
            BranchSpec::Git { url, .. } => {
                let mirror = git.mirror(url)?;
                let resolved = mirror.resolve(Some(commit))?;
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
        let signature = crate::ops::trust::verify(git, &target, trust)?;
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
