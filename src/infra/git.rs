//! Git components: one bare mirror per remote URL in the shared cache,
//! fetched only when the wanted revision is not already there, and trees
//! exported at an exact commit.

use fs_err as fs;
use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use git2::{Oid, Repository};

use crate::core::names::is_full_commit;
use crate::infra::cache::{self, Bucket, Cache};

/// Where the default branch's commit lands in a mirror.
const REMOTE_HEAD: &str = "refs/lava/remote-HEAD";

/// All mirrors: `cache/git-v1/db/<name>-<hash>`.
#[derive(Debug, Clone)]
pub struct GitCache {
    db: PathBuf,
    /// `--offline`: new mirrors start empty, even for repositories on this machine.
    offline: bool,
    /// `--retries`: how often a fetch that failed on the network is tried again.
    retries: u32,
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
    pub fn new(cache: &Cache, offline: bool, retries: u32) -> Self {
        GitCache {
            db: cache.bucket(Bucket::Git).join("db"),
            offline,
            retries,
        }
    }

    /// The mirror of `url`, created when missing.
    pub fn mirror(&self, url: &str) -> Result<Mirror> {
        let path = self.db.join(cache::entry_name(url));
        if !path.join(cache::COMPLETE_MARKER).exists() {
            fs::create_dir_all(&self.db)?;
            let _guard = crate::infra::lock::lock_entry(&path)?;
            if !path.join(cache::COMPLETE_MARKER).exists() {
                cache::remove_stale_temps(&self.db);
                init_mirror(&path, url, self.offline)?;
            }
        }
        Ok(Mirror {
            url: url.to_owned(),
            path,
            retries: self.retries,
        })
    }
}

/// A fresh bare repository, built beside its place and renamed into it so a
/// killed run never leaves a half-made mirror under the real name.
fn init_mirror(path: &Path, url: &str, offline: bool) -> Result<()> {
    let temp = crate::infra::fs::temp_sibling(path);
    let repo = match local_path(url).filter(|_| !offline) {
        // A repository on this machine: hardlink (or copy) its objects, as
        // `git clone --local` does, instead of packing them through a
        // transport. Refs are then laid out by the first fetch, which finds
        // every object already here.
        Some(source) => git2::build::RepoBuilder::new()
            .bare(true)
            .clone_local(git2::build::CloneLocal::Local)
            .clone(source, &temp)
            .or_else(|err| {
                tracing::debug!("local clone of {url} failed ({err}); starting empty");
                let _ = fs::remove_dir_all(&temp);
                Repository::init_bare(&temp)
            }),
        None => Repository::init_bare(&temp),
    }
    .with_context(|| format!("cannot create git mirror {}", temp.display()))?;
    if repo.find_remote("origin").is_err() {
        repo.remote_with_fetch("origin", url, "+refs/heads/*:refs/heads/*")?;
    }
    fs::write(temp.join(cache::COMPLETE_MARKER), url)?;
    let _ = fs::remove_dir_all(path);
    fs::rename(&temp, path)
        .with_context(|| format!("cannot create git mirror {}", path.display()))?;
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
}

impl Mirror {
    pub fn open(&self) -> Result<Repository> {
        Repository::open_bare(&self.path).with_context(|| {
            format!(
                "cannot open git mirror {} of {}",
                self.path.display(),
                self.url
            )
        })
    }

    /// Finds `rev` (tag, branch, commit; `None`: default branch), fetching
    /// only when the answer may have changed or is not here yet.
    pub fn resolve(&self, rev: Option<&str>, offline: bool) -> Result<ResolvedRev> {
        let repo = self.open()?;
        if let Some(found) = self.lookup_immutable(&repo, rev) {
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
            return self.lookup(&repo, rev).with_context(|| {
                format!(
                    "{} (offline: only the cache was searched)",
                    self.not_found(rev)
                )
            });
        }
        self.fetch()?;
        let repo = self.open()?;
        self.lookup(&repo, rev).with_context(|| self.not_found(rev))
    }

    fn not_found(&self, rev: Option<&str>) -> String {
        match rev {
            Some(rev) => format!(
                "revision {rev:?} not found in {} (no such tag, branch or commit)",
                self.url
            ),
            None => format!("{} has no default branch", self.url),
        }
    }

    /// A full commit or a tag already in the mirror: no network needed.
    fn lookup_immutable(&self, repo: &Repository, rev: Option<&str>) -> Option<ResolvedRev> {
        let rev = rev?;
        if is_full_commit(rev) {
            let commit = repo.find_commit(Oid::from_str(rev).ok()?).ok()?;
            return Some(ResolvedRev {
                commit: commit.id(),
                kind: RevKind::Commit,
            });
        }
        let commit = peel_ref(repo, &format!("refs/tags/{rev}"))?;
        Some(ResolvedRev {
            commit,
            kind: RevKind::Tag,
        })
    }

    fn lookup(&self, repo: &Repository, rev: Option<&str>) -> Option<ResolvedRev> {
        let Some(rev) = rev else {
            let commit = peel_ref(repo, REMOTE_HEAD)?;
            return Some(ResolvedRev {
                commit,
                kind: RevKind::DefaultBranch,
            });
        };
        if let Some(found) = self.lookup_immutable(repo, Some(rev)) {
            return Some(found);
        }
        if let Some(commit) = peel_ref(repo, &format!("refs/heads/{rev}")) {
            return Some(ResolvedRev {
                commit,
                kind: RevKind::Branch,
            });
        }
        if rev.len() >= 4 && rev.len() < 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
            let object = repo.revparse_single(rev).ok()?;
            let commit = object.peel_to_commit().ok()?;
            return Some(ResolvedRev {
                commit: commit.id(),
                kind: RevKind::ShortCommit,
            });
        }
        None
    }

    /// Fetches every branch and tag and the remote's HEAD, under the
    /// mirror's lock so concurrent runs do not fetch into it at once.
    /// Network failures are tried again like downloads (`--retries`, same
    /// backoff); a refused login or a missing repository is not.
    pub fn fetch(&self) -> Result<()> {
        let _guard = crate::infra::lock::lock_entry(&self.path)?;
        tracing::debug!("fetching {}", self.url);
        let repo = self.open()?;
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            // A fresh remote each time: a failed fetch may leave its
            // transport half-connected.
            let mut remote = repo
                .remote_anonymous(&self.url)
                .with_context(|| format!("invalid git URL {}", self.url))?;
            match self.fetch_once(&mut remote) {
                Ok(()) => return Ok(()),
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

    /// One fetch, with its own record of the credentials tried.
    fn fetch_once(&self, remote: &mut git2::Remote) -> std::result::Result<(), FetchError> {
        let refspecs = [
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
            &format!("+HEAD:{REMOTE_HEAD}"),
        ];
        let auth = RefCell::new(AuthAttempts::default());
        let mut options = git2::FetchOptions::new();
        options.download_tags(git2::AutotagOption::All);
        let mut callbacks = git2::RemoteCallbacks::new();
        callbacks
            .credentials(|url, username, allowed| auth.borrow_mut().next(url, username, allowed));
        options.remote_callbacks(callbacks);
        let result = remote.fetch(&refspecs, Some(&mut options), None);
        drop(options);
        let auth = auth.into_inner();
        match result {
            Ok(()) => Ok(()),
            // Our own "everything was tried" (libgit2 relays it with its
            // class and code appended): say it plainly.
            Err(_) if auth.exhausted => Err(FetchError::Auth(auth.failure(&self.url))),
            Err(err) => Err(FetchError::Git(err)),
        }
    }

    /// `git describe --tags` of a commit, else `YYYYMMDD-<short commit>`.
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
        })
    }

    /// Writes the tree of `commit` to `dest`.
    pub fn export(&self, commit: Oid, dest: &Path) -> Result<()> {
        let repo = self.open()?;
        let tree = repo.find_commit(commit)?.tree_id();
        export_tree(&repo, tree, dest)
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

/// One tree of a mirror (a manifest branch at a commit), read in place.
#[derive(Debug, Clone)]
pub struct GitTree {
    repo: PathBuf,
    tree: Oid,
}

impl GitTree {
    fn open(&self) -> Result<(Repository, Oid)> {
        let repo = Repository::open_bare(&self.repo)
            .with_context(|| format!("cannot open git mirror {}", self.repo.display()))?;
        Ok((repo, self.tree))
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
        let (repo, _) = self.open()?;
        export_tree(&repo, id, dest)
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

/// Writes a git tree to `dest` (created): regular and executable files,
/// symlinks; submodules become empty directories.
pub fn export_tree(repo: &Repository, tree: Oid, dest: &Path) -> Result<()> {
    fs::create_dir_all(dest)?;
    let tree = repo.find_tree(tree)?;
    for entry in tree.iter() {
        let Some(name) = entry.name() else {
            bail!("a file name in {} is not UTF-8", dest.display());
        };
        if name == ".." || name == "." || name.contains('/') {
            bail!("refusing the unsafe file name {name:?} in a git tree");
        }
        let target = dest.join(name);
        match entry.kind() {
            Some(git2::ObjectType::Tree) => export_tree(repo, entry.id(), &target)?,
            Some(git2::ObjectType::Blob) => {
                let blob = repo.find_blob(entry.id())?;
                write_blob(&target, blob.content(), entry.filemode())?;
            }
            Some(git2::ObjectType::Commit) => {
                tracing::warn!("submodule {} is not exported", target.display());
                fs::create_dir_all(&target)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn write_blob(target: &Path, content: &[u8], mode: i32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if mode == 0o120000 {
        let link = std::str::from_utf8(content).context("symlink target is not UTF-8")?;
        std::os::unix::fs::symlink(link, target)
            .with_context(|| format!("cannot create symlink {}", target.display()))?;
        return Ok(());
    }
    fs::write(target, content)?;
    if mode == 0o100755 {
        fs::set_permissions(target, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", target.display()))?;
    }
    Ok(())
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
