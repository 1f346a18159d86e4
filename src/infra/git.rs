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

mod export;
mod remote;

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use fs_err as fs;
use git2::{Oid, Repository};

use crate::core::names::is_full_commit;
use crate::infra::cache::{self, Bucket, Cache};

pub use export::export_tree;

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
fn open_bare(path: &Path) -> Result<Repository> {
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
    pub fn resolve(&self, rev: Option<&str>, offline: bool) -> Result<ResolvedRev> {
        let repo = self.open()?;
        if let Some(found) = lookup_immutable(&repo, rev) {
            return Ok(found);
        }
        if offline {
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
        let _guard = crate::infra::lock::lock_entry(&self.path)?;
        let repo = self.open()?;
        // Another run may have fetched it while this one waited for the lock.
        if lookup_immutable(&repo, rev).is_some() {
            return Ok(None);
        }
        tracing::debug!("fetching {}", self.url);
        let started = std::time::Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            let result = if self.local {
                self.fetch_everything(&repo, 0).map(|()| None)
            } else {
                self.fetch_for(&repo, rev)
            };
            match result {
                Ok(note) => {
                    tracing::debug!("{}: fetched in {:.0?}", self.url, started.elapsed());
                    return Ok(note);
                }
                Err(FetchError::Git(err)) if is_transient(&err) && attempt <= self.retries => {
                    let wait = super::retry::retry_delay(attempt);
                    tracing::warn!(
                        "cannot fetch {}: {}; trying again in {wait:?}",
                        self.url,
                        err.message()
                    );
                    std::thread::sleep(wait);
                }
                Err(FetchError::Git(err)) => {
                    return Err(anyhow::Error::new(err))
                        .with_context(|| format!("cannot fetch {}", self.url))
                }
                Err(FetchError::Auth(message)) => bail!(message),
            }
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

    /// `git describe --tags` of a commit, else `YYYYMMDD-<short commit>`.
    /// In a shallow mirror only the tags fetched with the commit (those
    /// pointing at it) can name it.
    pub fn describe(&self, repo: &Repository, commit: Oid) -> String {
        let described = repo.find_commit(commit).ok().and_then(|c| {
            let mut options = git2::DescribeOptions::new();
            options.describe_tags();
            let describe = c.as_object().describe(&options).ok()?;
            let mut format = git2::DescribeFormatOptions::new();
            format.abbreviated_size(7);
            describe.format(Some(&format)).ok()
        });
        described.unwrap_or_else(|| {
            let time = repo
                .find_commit(commit)
                .map(|c| c.time().seconds())
                .unwrap_or(0);
            format!("{}-{:.7}", crate::core::time::date_yyyymmdd(time), commit)
        })
    }

    /// What `git describe --tags --long --match '*[0-9]*'` says of
    /// `commit` — the call setuptools-scm makes — as its parts. Without a
    /// matching tag: no tag, and the distance counts every commit (as
    /// setuptools-scm does).
    pub fn describe_long(&self, commit: Oid) -> Result<Described> {
        let repo = self.open()?;
        let object = repo.find_commit(commit)?.into_object();
        let short = object
            .short_id()?
            .as_str()
            .context("abbreviated commit id is not text")?
            .to_owned();
        let mut options = git2::DescribeOptions::new();
        options.describe_tags().pattern("*[0-9]*");
        let described = object.describe(&options).ok().and_then(|d| {
            let mut format = git2::DescribeFormatOptions::new();
            format.always_use_long_format(true);
            d.format(Some(&format)).ok()
        });
        // `TAG-N-gHASH`: split from the right, tags may contain dashes.
        let parsed = described.as_deref().and_then(|text| {
            let mut parts = text.rsplitn(3, '-');
            let _hash = parts.next()?.strip_prefix('g')?;
            let distance = parts.next()?.parse().ok()?;
            Some((parts.next()?.to_owned(), distance))
        });
        Ok(match parsed {
            Some((tag, distance)) => Described {
                tag: Some(tag),
                distance,
                short,
            },
            None => {
                let mut walk = repo.revwalk()?;
                walk.push(commit)?;
                Described {
                    tag: None,
                    distance: walk.count(),
                    short,
                }
            }
        })
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

/// A commit as `git describe --tags --long` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The nearest tag with a digit in its name, if any.
    pub tag: Option<String>,
    /// Commits since that tag (or, without one, in the whole history).
    pub distance: usize,
    /// The abbreviated commit id.
    pub short: String,
}

/// Fetch options shared by every fetch: credentials through `auth`, no
/// tags beyond the refspecs, no FETCH_HEAD.
fn fetch_options<'a>(auth: &'a RefCell<AuthAttempts>, depth: i32) -> git2::FetchOptions<'a> {
    let mut options = git2::FetchOptions::new();
    options
        .download_tags(git2::AutotagOption::None)
        .update_fetchhead(false)
        .depth(depth);
    options.remote_callbacks(callbacks(auth));
    options
}

fn callbacks(auth: &RefCell<AuthAttempts>) -> git2::RemoteCallbacks<'_> {
    let mut callbacks = git2::RemoteCallbacks::new();
    callbacks.credentials(|url, username, allowed| auth.borrow_mut().next(url, username, allowed));
    callbacks
}

/// Our own "everything was tried" (libgit2 relays it with its class and
/// code appended), said plainly.
fn auth_failure<T>(
    result: std::result::Result<T, git2::Error>,
    auth: RefCell<AuthAttempts>,
    url: &str,
) -> std::result::Result<T, FetchError> {
    let auth = auth.into_inner();
    match result {
        Ok(value) => Ok(value),
        Err(_) if auth.exhausted => Err(FetchError::Auth(auth.failure(url))),
        Err(err) => Err(FetchError::Git(err)),
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

/// One tree of a mirror (a manifest branch at a commit), read in place.
#[derive(Debug, Clone)]
pub struct GitTree {
    repo: PathBuf,
    tree: Oid,
    jobs: usize,
}

impl GitTree {
    fn open(&self) -> Result<(Repository, Oid)> {
        Ok((open_bare(&self.repo)?, self.tree))
    }

    pub fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let (repo, tree) = self.open()?;
        let tree = repo.find_tree(tree)?;
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            return Ok(None);
        };
        let object = entry.to_object(&repo)?;
        Ok(object.as_blob().map(|blob| blob.content().to_vec()))
    }

    pub fn is_dir(&self, path: &str) -> Result<bool> {
        let (repo, tree) = self.open()?;
        let tree = repo.find_tree(tree)?;
        Ok(tree
            .get_path(Path::new(path))
            .is_ok_and(|e| e.kind() == Some(git2::ObjectType::Tree)))
    }

    /// Every file, as branch paths.
    pub fn files(&self) -> Result<Vec<String>> {
        let (repo, tree) = self.open()?;
        let tree = repo.find_tree(tree)?;
        let mut files = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                files.push(format!("{dir}{}", entry.name().unwrap_or("")));
            }
            git2::TreeWalkResult::Ok
        })?;
        Ok(files)
    }

    /// The object id of the entry at `path`: it changes exactly when the
    /// directory's contents do.
    pub fn entry_id(&self, path: &str) -> Result<Oid> {
        let (repo, tree) = self.open()?;
        let tree = repo.find_tree(tree)?;
        let entry = tree
            .get_path(Path::new(path))
            .with_context(|| format!("{path} is not a directory of the manifest branch"))?;
        Ok(entry.id())
    }

    /// Writes the directory `path` to `dest`.
    pub fn export_dir(&self, path: &str, dest: &Path) -> Result<()> {
        let id = self.entry_id(path)?;
        export_tree(&self.repo, id, dest, self.jobs)
    }
}

fn peel_ref(repo: &Repository, name: &str) -> Option<Oid> {
    let reference = repo.find_reference(name).ok()?;
    Some(reference.peel_to_commit().ok()?.id())
}

/// How one fetch failed.
enum FetchError {
    Git(git2::Error),
    /// Every way to log in was tried and refused; the message says which.
    Auth(String),
}

/// Worth fetching again: the network failed (connection refused or reset,
/// timeout, DNS, a 5xx answer, a cut-off response). Not: a refused login,
/// a missing repository or revision, a bad URL, an error the server sent.
/// libgit2 files most of these under a few classes, so a few messages are
/// told apart by their text.
fn is_transient(err: &git2::Error) -> bool {
    use git2::{ErrorClass, ErrorCode};
    let message = err.message();
    match (err.code(), err.class()) {
        (ErrorCode::Auth | ErrorCode::NotFound | ErrorCode::Certificate | ErrorCode::User, _) => {
            false
        }
        (ErrorCode::Timeout, _) => true,
        (_, ErrorClass::Net | ErrorClass::Os) => {
            !(message.starts_with("unsupported URL protocol")
                || message.starts_with("malformed URL")
                || message.starts_with("remote error:"))
        }
        (_, ErrorClass::Http) => {
            let status = message
                .strip_prefix("unexpected http status code: ")
                .and_then(|code| code.trim().parse::<u16>().ok());
            matches!(status, Some(500..=599 | 429)) || message.contains("unexpected EOF")
        }
        _ => false,
    }
}

/// The credentials offered during one fetch. libgit2 calls back after
/// every refused credential, and would forever: each way is offered once
/// (ssh-agent once per user name, the credential helper once, the default
/// once), then the callback gives up, saying what was tried. The same
/// bound as cargo's `with_authentication`.
#[derive(Debug, Default)]
struct AuthAttempts {
    /// A user name was supplied for an ssh URL that had none.
    username: bool,
    /// User names offered to the ssh-agent.
    ssh_agent: Vec<String>,
    /// The git credential helper was asked: did it have credentials?
    helper: Option<bool>,
    default: bool,
    /// Nothing was left to offer: the fetch failed on authentication.
    exhausted: bool,
}

impl AuthAttempts {
    fn next(
        &mut self,
        url: &str,
        username: Option<&str>,
        allowed: git2::CredentialType,
    ) -> std::result::Result<git2::Cred, git2::Error> {
        use git2::{Cred, CredentialType};
        // An ssh URL without a user: libgit2 asks for one, then for a key.
        if allowed.contains(CredentialType::USERNAME) && !self.username {
            self.username = true;
            return Cred::username(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            let user = username.unwrap_or("git");
            if !self.ssh_agent.iter().any(|tried| tried == user) {
                self.ssh_agent.push(user.to_owned());
                return Cred::ssh_key_from_agent(user);
            }
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) && self.helper.is_none() {
            let found = git2::Config::open_default()
                .and_then(|config| Cred::credential_helper(&config, url, username));
            self.helper = Some(found.is_ok());
            if found.is_ok() {
                return found;
            }
        }
        if allowed.contains(CredentialType::DEFAULT) && !self.default {
            self.default = true;
            return Cred::default();
        }
        self.exhausted = true;
        Err(git2::Error::new(
            git2::ErrorCode::Auth,
            git2::ErrorClass::Callback,
            self.failure(url),
        ))
    }

    /// "authentication to URL failed; tried: …; check …"
    fn failure(&self, url: &str) -> String {
        let mut tried: Vec<String> = self
            .ssh_agent
            .iter()
            .map(|user| format!("ssh-agent as {user}"))
            .collect();
        let mut hints = Vec::new();
        if !self.ssh_agent.is_empty() {
            hints.push("that your ssh-agent holds a key the server accepts (ssh-add -l)");
        }
        match self.helper {
            Some(true) => {
                tried.push("git credential helper".to_owned());
                hints.push("that the credentials of your git credential helper are still valid");
            }
            Some(false) => {
                tried.push("git credential helper (it had no credentials)".to_owned());
                hints.push("that a git credential helper (credential.helper) has credentials for this host");
            }
            None => {}
        }
        if self.default {
            tried.push("default credentials".to_owned());
        }
        if tried.is_empty() {
            return format!(
                "authentication to {url} failed: the server wants a way of logging in \
                 lava-deploy does not offer (ssh-agent, git credential helper)"
            );
        }
        let mut message = format!(
            "authentication to {url} failed; tried: {}",
            tried.join(", ")
        );
        if !hints.is_empty() {
            message.push_str(&format!("; check {}", hints.join(", and ")));
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::CredentialType;

    /// libgit2 over ssh: asks for a user name, then for a key, and after
    /// each key the server refuses, for a key again. No ssh server needed:
    /// the callback alone decides when to stop.
    #[test]
    fn ssh_agent_is_offered_once_per_user_then_the_callback_gives_up() {
        let url = "ssh://git.example.org/lava.git";
        let mut auth = AuthAttempts::default();
        assert!(auth.next(url, None, CredentialType::USERNAME).is_ok());
        assert!(auth.next(url, Some("git"), CredentialType::SSH_KEY).is_ok());
        let Err(err) = auth.next(url, Some("git"), CredentialType::SSH_KEY) else {
            panic!("ssh-agent offered twice for one user");
        };
        assert!(auth.exhausted);
        assert_eq!(err.code(), git2::ErrorCode::Auth);
        assert_eq!(
            err.message(),
            "authentication to ssh://git.example.org/lava.git failed; tried: ssh-agent as git; \
             check that your ssh-agent holds a key the server accepts (ssh-add -l)"
        );
        // Another user name from the URL gets its own single try.
        let mut auth = AuthAttempts::default();
        assert!(auth
            .next(url, Some("lava"), CredentialType::SSH_KEY)
            .is_ok());
        assert!(auth
            .next(url, Some("lava"), CredentialType::SSH_KEY)
            .is_err());
    }

    #[test]
    fn default_credentials_are_offered_once() {
        let url = "https://git.example.org/lava.git";
        let mut auth = AuthAttempts::default();
        assert!(auth.next(url, None, CredentialType::DEFAULT).is_ok());
        let Err(err) = auth.next(url, None, CredentialType::DEFAULT) else {
            panic!("default credentials offered twice");
        };
        assert!(err.message().contains("tried: default credentials"));
    }

    #[test]
    fn only_network_failures_are_transient() {
        use git2::{Error, ErrorClass, ErrorCode};
        let transient = |code, class, message| is_transient(&Error::new(code, class, message));
        assert!(transient(
            ErrorCode::GenericError,
            ErrorClass::Os,
            "failed to connect to 127.0.0.1: Connection refused"
        ));
        assert!(transient(ErrorCode::Timeout, ErrorClass::Net, "timed out"));
        assert!(transient(
            ErrorCode::GenericError,
            ErrorClass::Http,
            "unexpected http status code: 502"
        ));
        assert!(!transient(
            ErrorCode::GenericError,
            ErrorClass::Http,
            "unexpected http status code: 404"
        ));
        assert!(!transient(
            ErrorCode::GenericError,
            ErrorClass::Http,
            "too many redirects or authentication replays"
        ));
        assert!(!transient(ErrorCode::Auth, ErrorClass::Callback, "refused"));
        assert!(!transient(
            ErrorCode::NotFound,
            ErrorClass::Os,
            "failed to resolve path '/gone'"
        ));
        assert!(!transient(
            ErrorCode::GenericError,
            ErrorClass::Net,
            "unsupported URL protocol"
        ));
    }
}
