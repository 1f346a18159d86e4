//! Git components: one bare mirror per remote URL in the shared cache,
//! fetched only when the wanted revision is not already there, and trees
//! exported at an exact commit.
//!
//! A mirror of a network URL holds only what was asked for: each tag,
//! branch tip or commit is fetched on its own with depth 1 (what
//! `git clone --depth 1 --branch T` fetches), so it is shallow; a later pin
//! fetches only the objects it does not have yet. Repositories on this
//! machine are mirrored whole, their objects hardlinked (`git clone
//! --local`), which costs less than any transport.

mod auth;
mod describe;
mod export;
mod remote;
mod tree;

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use fs_err as fs;
use git2::{Oid, Repository};

use crate::core::names::is_full_commit;
use crate::infra::cache::{self, Bucket, Cache};

use auth::{auth_failure, callbacks, fetch_options, is_transient, AuthAttempts, FetchError};
pub use describe::Described;
pub use export::export_tree;
pub use tree::GitTree;

/// Where the default branch's commit lands in a mirror.
const REMOTE_HEAD: &str = "refs/lava/remote-HEAD";

/// All mirrors: `cache/git-v2/db/<name>-<hash>`.
#[derive(Debug, Clone)]
pub struct GitCache {
    db: PathBuf,
    /// `db` directories of earlier cache versions (`git-v1`): a new mirror
    /// starts from the old one of the same URL after checking it.
    previous: Vec<PathBuf>,
    /// `--offline`: new mirrors start empty, even for repositories on this machine.
    offline: bool,
    /// `--retries`: how often a fetch that failed on the network is tried again.
    retries: u32,
    /// Threads writing an exported tree (`--jobs`).
    jobs: usize,
}

/// How a revision was found: the pinning rules depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevKind {
    /// A full commit id.
    Commit,
    /// A tag: treated as immutable, so a tag already mirrored is not fetched again.
    Tag,
    Branch,
    /// An abbreviated commit id.
    ShortCommit,
    DefaultBranch,
}

impl RevKind {
    pub fn is_pinned(self) -> bool {
        matches!(self, RevKind::Commit | RevKind::Tag)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ResolvedRev {
    pub commit: Oid,
    pub kind: RevKind,
}

impl GitCache {
    pub fn new(cache: &Cache, offline: bool, retries: u32, jobs: usize) -> Self {
        GitCache {
            db: cache.bucket(Bucket::Git).join("db"),
            previous: cache
                .previous_buckets(Bucket::Git)
                .into_iter()
                .map(|dir| dir.join("db"))
                .collect(),
            offline,
            retries,
            jobs: jobs.max(1),
        }
    }

    /// The mirror of `url`, created when missing.
    pub fn mirror(&self, url: &str) -> Result<Mirror> {
        let name = cache::entry_name(url);
        let path = self.db.join(&name);
        if !path.join(cache::COMPLETE_MARKER).exists() {
            fs::create_dir_all(&self.db)?;
            let _guard = crate::infra::lock::lock_entry(&path)?;
            if !path.join(cache::COMPLETE_MARKER).exists() {
                cache::remove_stale_temps(&self.db);
                let previous: Vec<PathBuf> =
                    self.previous.iter().map(|db| db.join(&name)).collect();
                init_mirror(&path, url, self.offline, &previous)?;
            }
        }
        Ok(Mirror {
            url: url.to_owned(),
            path,
            offline: self.offline,
            retries: self.retries,
            local: local_path(url).is_some(),
            jobs: self.jobs,
        })
    }
}

/// Opens a mirror. Before the first one: libgit2 hashes every object it
/// reads again (SHA-1 with collision detection), a third of the CPU time
/// of an export, measured. Every object id in a mirror was computed from
/// the object's content when its pack was indexed at fetch time, so reads
/// trust the mirror as `git checkout` does. Done here, not at start-up:
/// libgit2's first use costs ~25 ms (it loads the system's CA
/// certificates), which commands that never open a repository should not pay.
pub(super) fn open_bare(path: &Path) -> Result<Repository> {
    static TRUST_READS: std::sync::Once = std::sync::Once::new();
    TRUST_READS.call_once(|| git2::opts::strict_hash_verification(false));
    Repository::open_bare(path)
        .with_context(|| format!("cannot open git mirror {}", path.display()))
}

/// A fresh bare repository, built beside its place and renamed into it so a
/// killed run never leaves a half-made mirror under the real name.
fn init_mirror(path: &Path, url: &str, offline: bool, previous: &[PathBuf]) -> Result<()> {
    let temp = crate::infra::fs::temp_sibling(path);
    let seeded = previous.iter().find_map(|old| {
        if !old.join(cache::COMPLETE_MARKER).exists() {
            return None;
        }
        match seed_from_previous(old, &temp, url) {
            Ok(refs) => {
                tracing::info!(
                    "git mirror of {url}: {refs} refs taken over from {} (checked)",
                    old.display()
                );
                Some(())
            }
            Err(err) => {
                tracing::debug!("not reusing {} for {url}: {err:#}", old.display());
                let _ = crate::infra::fs::remove_path(&temp);
                None
            }
        }
    });
    if seeded.is_none() {
        match local_path(url).filter(|_| !offline) {
            // A repository on this machine: hardlink (or copy) its objects, as
            // `git clone --local` does, instead of packing them through a
            // transport. Refs are then laid out by the first fetch, which finds
            // every object already here.
            Some(source) => git2::build::RepoBuilder::new()
                .bare(true)
                .clone_local(git2::build::CloneLocal::Local)
                .clone(source, &temp)
                .map(drop)
                .or_else(|err| {
                    tracing::debug!("local clone of {url} failed ({err}); starting empty");
                    let _ = crate::infra::fs::remove_path(&temp);
                    Repository::init_bare(&temp).map(drop)
                }),
            None => Repository::init_bare(&temp).map(drop),
        }
        .with_context(|| format!("cannot create git mirror {}", temp.display()))?;
    }
    fs::write(temp.join(cache::COMPLETE_MARKER), url)?;
    let _ = crate::infra::fs::remove_path(path);
    fs::rename(&temp, path)?;
    Ok(())
}

/// Starts a mirror from one of an earlier cache version (`git-v1`: every
/// branch and tag with full history, the same objects): its objects are
/// hardlinked and its refs copied, each only after checking that it leads
/// to a commit whose tree is here. The old mirror is only read.
fn seed_from_previous(old: &Path, temp: &Path, url: &str) -> Result<usize> {
    let recorded = fs::read_to_string(old.join(cache::COMPLETE_MARKER))?;
    if recorded != url {
        bail!("it mirrors {recorded:?}");
    }
    let source = Repository::open_bare(old)?;
    if source.is_shallow() {
        bail!("it is shallow, which no earlier version made");
    }
    let repo = Repository::init_bare(temp)?;
    link_tree(&old.join("objects"), &temp.join("objects"))?;
    let mut copied = 0;
    for reference in source.references()? {
        let reference = reference?;
        let Some(name) = reference.name() else {
            continue;
        };
        if !["refs/heads/", "refs/tags/", "refs/lava/"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            continue;
        }
        let Ok(resolved) = reference.resolve() else {
            continue;
        };
        let Some(target) = resolved.target() else {
            continue;
        };
        let whole = repo
            .find_object(target, None)
            .and_then(|object| object.peel_to_commit())
            .and_then(|commit| commit.tree().map(drop));
        if let Err(err) = whole {
            tracing::debug!("{name} of {}: not taken over ({err})", old.display());
            continue;
        }
        repo.reference(name, target, true, "lava-deploy: from the git-v1 cache")?;
        copied += 1;
    }
    Ok(copied)
}

/// Hardlinks every file of `from` into `to` (copies where linking fails).
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            link_tree(&entry.path(), &target)?;
        } else if !target.exists() && fs::hard_link(entry.path(), &target).is_err() {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The path of a repository on this machine (`/path` or `file:///path`).
fn local_path(url: &str) -> Option<&str> {
    let path = url.strip_prefix("file://").unwrap_or(url);
    path.starts_with('/').then_some(path)
}

/// A bare mirror of one remote repository.
#[derive(Debug, Clone)]
pub struct Mirror {
    pub url: String,
    pub path: PathBuf,
    /// `--offline`: only what the mirror holds.
    offline: bool,
    /// Retries of a fetch that failed on the network (`--retries`).
    retries: u32,
    /// A repository on this machine: mirrored whole (libgit2's local
    /// transport cannot fetch shallow, and needs no economy).
    local: bool,
    jobs: usize,
}

impl Mirror {
    pub fn open(&self) -> Result<Repository> {
        open_bare(&self.path).with_context(|| format!("the mirror of {}", self.url))
    }

    /// Finds `rev` (tag, branch, commit; `None`: default branch), fetching
    /// only when the answer may have changed or is not here yet.
    pub fn resolve(&self, rev: Option<&str>) -> Result<ResolvedRev> {
        let repo = self.open()?;
        if let Some(found) = lookup_immutable(&repo, rev) {
            return Ok(found);
        }
        if self.offline {
            if repo.references()?.next().is_none() {
                bail!(
                    "{} is not in the cache, and --offline forbids fetching it; \
                     run once without --offline",
                    self.url
                );
            }
            return lookup(&repo, rev).with_context(|| {
                format!(
                    "{} (offline: only the cache was searched)",
                    self.not_found(rev, None)
                )
            });
        }
        let note = self.fetch(rev)?;
        let repo = self.open()?;
        lookup(&repo, rev).with_context(|| self.not_found(rev, note.as_deref()))
    }

    fn not_found(&self, rev: Option<&str>, note: Option<&str>) -> String {
        let mut message = match rev {
            Some(rev) if is_full_commit(rev) => format!(
                "commit {rev} not found in {}: no branch or tag it advertises leads to it",
                self.url
            ),
            Some(rev) => format!(
                "revision {rev:?} not found in {} (no such tag, branch or commit)",
                self.url
            ),
            None => format!("{} has no default branch", self.url),
        };
        if let Some(note) = note {
            message.push_str(&format!(", and {note}"));
        }
        message
    }

    /// Fetches what `rev` needs, under the mirror's lock so concurrent runs
    /// do not fetch into it at once. Network failures are tried again like
    /// downloads (`--retries`, same backoff); a refused login or a missing
    /// repository is not. Returns a note for a "not found" message (why a
    /// commit could not be fetched by its id).
    pub fn fetch(&self, rev: Option<&str>) -> Result<Option<String>> {
        self.fetch_with_retries(|repo| {
            // Another run may have fetched it while this one waited for the lock.
            if lookup_immutable(repo, rev).is_some() {
                return Ok(None);
            }
            if self.local {
                self.fetch_everything(repo, 0).map(|()| None)
            } else {
                self.fetch_for(repo, rev)
            }
        })
    }

    /// Whether the mirror holds only part of its history.
    pub fn is_shallow(&self) -> Result<bool> {
        Ok(self.open()?.is_shallow())
    }

    /// Fetches the whole history with every branch and tag, for a question
    /// only history answers (which tag a commit descends from). The mirror
    /// is marked whole, so later fetches do not make it shallow again.
    pub fn unshallow(&self) -> Result<()> {
        self.fetch_with_retries(|repo| {
            if repo.is_shallow() {
                self.fetch_everything(repo, remote::UNSHALLOW)?;
            }
            remote::mark_whole(repo)?;
            Ok(())
        })
    }

    /// Runs `fetch` under the mirror's lock, so concurrent runs do not
    /// fetch into it at once, trying again on network failures like
    /// downloads (`--retries`, same backoff); a refused login or a missing
    /// repository is not tried again.
    fn fetch_with_retries<T>(
        &self,
        mut fetch: impl FnMut(&Repository) -> std::result::Result<T, FetchError>,
    ) -> Result<T> {
        let _guard = crate::infra::lock::lock_entry(&self.path)?;
        let repo = self.open()?;
        tracing::debug!("fetching {}", self.url);
        let started = std::time::Instant::now();
        let outcome = super::retry::with_retry(
            self.retries,
            || fetch(&repo),
            |failure| match failure {
                FetchError::Git(err) if is_transient(err) => {
                    Some(format!("cannot fetch {}: {}", self.url, err.message()))
                }
                _ => None,
            },
        );
        match outcome {
            Ok(done) => {
                tracing::debug!("{}: fetched in {:.0?}", self.url, started.elapsed());
                Ok(done)
            }
            Err(FetchError::Git(err)) if err.code() == git2::ErrorCode::Certificate => {
                bail!(
                    "cannot fetch {}: {}; {}",
                    self.url,
                    err.message(),
                    crate::infra::http::UNTRUSTED_HINT
                )
            }
            Err(FetchError::Git(err)) => {
                Err(anyhow::Error::new(err)).with_context(|| format!("cannot fetch {}", self.url))
            }
            Err(FetchError::Auth(message)) => bail!(message),
        }
    }

    /// Every branch and tag and the remote's HEAD, at `depth` (0: whole
    /// history): what a repository on this machine gets, and the fallback
    /// where only history can answer (an abbreviated commit; a commit the
    /// server does not give by id). A fresh remote each time: a failed
    /// fetch may leave its transport half-connected.
    fn fetch_everything(
        &self,
        repo: &Repository,
        depth: i32,
    ) -> std::result::Result<(), FetchError> {
        let refspecs = [
            "+refs/heads/*:refs/heads/*".to_owned(),
            "+refs/tags/*:refs/tags/*".to_owned(),
            format!("+HEAD:{REMOTE_HEAD}"),
        ];
        let mut remote = repo.remote_anonymous(&self.url)?;
        let auth = RefCell::new(AuthAttempts::default());
        let mut options = fetch_options(&auth, depth);
        let result = remote.fetch(&refspecs, Some(&mut options), None);
        drop(options);
        auth_failure(result, auth, &self.url)
    }

    /// The files of `commit`, for reading a manifest branch.
    pub fn tree_at(&self, repo: &Repository, commit: Oid) -> Result<GitTree> {
        Ok(GitTree {
            repo: self.path.clone(),
            tree: repo.find_commit(commit)?.tree_id(),
            jobs: self.jobs,
        })
    }

    /// Writes the tree of `commit` to `dest`.
    pub fn export(&self, commit: Oid, dest: &Path) -> Result<()> {
        let repo = self.open()?;
        let tree = repo.find_commit(commit)?.tree_id();
        export_tree(&self.path, tree, dest, self.jobs)
    }
}

/// A full commit or a tag already in the mirror: no network needed.
fn lookup_immutable(repo: &Repository, rev: Option<&str>) -> Option<ResolvedRev> {
    let rev = rev?;
    if is_full_commit(rev) {
        let commit = Oid::from_str(rev).ok()?;
        return is_whole(repo, commit).then_some(ResolvedRev {
            commit,
            kind: RevKind::Commit,
        });
    }
    let commit = peel_ref(repo, &format!("refs/tags/{rev}"))?;
    Some(ResolvedRev {
        commit,
        kind: RevKind::Tag,
    })
}

/// The object leads to a commit the mirror holds whole: each parent is
/// here, or the commit is a shallow boundary. libgit2 moves a fetched pack
/// into place before it records the new boundaries, so a run killed in
/// between leaves commits whose parents are neither; pointing a ref at one
/// would break every later negotiation. Such a commit is fetched again.
fn is_whole(repo: &Repository, oid: Oid) -> bool {
    let Ok(commit) = repo
        .find_object(oid, None)
        .and_then(|object| object.peel_to_commit())
    else {
        return false;
    };
    let Ok(odb) = repo.odb() else {
        return false;
    };
    commit.parent_ids().all(|parent| odb.exists(parent))
        || fs::read_to_string(repo.path().join("shallow")).is_ok_and(|roots| {
            roots
                .lines()
                .any(|line| line.trim() == commit.id().to_string())
        })
}

fn lookup(repo: &Repository, rev: Option<&str>) -> Option<ResolvedRev> {
    let Some(rev) = rev else {
        let commit = peel_ref(repo, REMOTE_HEAD)?;
        return Some(ResolvedRev {
            commit,
            kind: RevKind::DefaultBranch,
        });
    };
    if let Some(found) = lookup_immutable(repo, Some(rev)) {
        return Some(found);
    }
    if let Some(commit) = peel_ref(repo, &format!("refs/heads/{rev}")) {
        return Some(ResolvedRev {
            commit,
            kind: RevKind::Branch,
        });
    }
    if is_short_commit(rev) {
        let object = repo.revparse_single(rev).ok()?;
        let commit = object.peel_to_commit().ok()?;
        return Some(ResolvedRev {
            commit: commit.id(),
            kind: RevKind::ShortCommit,
        });
    }
    None
}

/// 4 to 39 hex digits: what zc.buildout's `[git-heads]` may hold.
fn is_short_commit(rev: &str) -> bool {
    rev.len() >= 4 && rev.len() < 40 && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

fn peel_ref(repo: &Repository, name: &str) -> Option<Oid> {
    let reference = repo.find_reference(name).ok()?;
    Some(reference.peel_to_commit().ok()?.id())
}
