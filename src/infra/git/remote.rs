//! Fetching only what a revision needs from a network remote: one
//! connection lists what the server advertises (like `git ls-remote`),
//! then asks for the one ref (or commit) with depth 1, or for nothing when
//! the mirror already has the object.

use std::cell::RefCell;
use std::collections::HashMap;

use git2::{Direction, Oid, RemoteHead, Repository};

use super::{
    auth_failure, callbacks, fetch_options, is_short_commit, is_whole, AuthAttempts, FetchError,
    Mirror, REMOTE_HEAD,
};
use crate::core::names::is_full_commit;

/// `git fetch --unshallow`: libgit2's GIT_FETCH_DEPTH_UNSHALLOW.
pub(super) const UNSHALLOW: i32 = i32::MAX;

/// The mirror's config key saying its history was fetched whole on
/// purpose: a fetch at depth 1 would cut it short again at the new tip.
const WHOLE_KEY: &str = "lava.whole";

pub(super) fn mark_whole(repo: &Repository) -> std::result::Result<(), git2::Error> {
    repo.config()?.set_bool(WHOLE_KEY, true)
}

/// How deep fetches into this mirror go: the tip only, unless its history
/// was made whole.
fn fetch_depth(repo: &Repository) -> i32 {
    let whole = repo
        .config()
        .and_then(|config| config.get_bool(WHOLE_KEY))
        .unwrap_or(false);
    if whole {
        0
    } else {
        1
    }
}

/// Where a commit fetched by its id (not by a ref) is kept referenced.
const PINS: &str = "refs/lava/pins/";

/// Refs by name, with the object each points at.
type Refs = Vec<(String, Oid)>;

/// What one fetch will do.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Point refs at objects the mirror already has, fetch the others
    /// (`+remote:local` refspecs, depth 1), then point the default branch
    /// ref at `head` when there is one.
    Refs {
        present: Refs,
        fetch: Vec<String>,
        head: Option<Oid>,
    },
    /// A commit that no advertised ref points at: ask for it by id.
    ById(Oid),
    /// Only history can answer (an abbreviated commit that is no tip).
    Everything,
    /// Nothing advertised matches; the lookup then says it is not found.
    Nothing,
}

/// How one fetch went on.
enum Step {
    Done,
    /// The server cannot fetch shallow: these refspecs again, whole.
    Deep {
        fetch: Vec<String>,
        head: Option<Oid>,
    },
    /// Fetch every branch and tag with their history; the note says why
    /// when it is not the plan's own choice.
    Everything(Option<String>),
}

/// The refs a server advertises, as `git ls-remote` shows them.
#[derive(Debug, Default)]
struct Advertised {
    /// Every ref but HEAD, with the object it points at (a tag object for
    /// annotated tags), in the server's order.
    refs: Refs,
    /// The commit behind each annotated tag (`refs/tags/T^{}` lines).
    peeled: HashMap<String, Oid>,
    /// HEAD: its commit and the branch it names, when the server says.
    head: Option<(Oid, Option<String>)>,
}

impl Advertised {
    fn new(heads: &[RemoteHead<'_>]) -> Self {
        let mut advertised = Advertised::default();
        for head in heads {
            let name = head.name();
            if name == "HEAD" {
                advertised.head = Some((head.oid(), head.symref_target().map(str::to_owned)));
            } else if let Some(tag) = name.strip_suffix("^{}") {
                advertised.peeled.insert(tag.to_owned(), head.oid());
            } else {
                advertised.refs.push((name.to_owned(), head.oid()));
            }
        }
        advertised
    }

    fn get(&self, name: &str) -> Option<Oid> {
        self.refs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, oid)| *oid)
    }

    /// The commit a ref leads to (lightweight tags and branches point at it).
    fn commit_of(&self, name: &str, oid: Oid) -> Oid {
        self.peeled.get(name).copied().unwrap_or(oid)
    }

    /// Refs leading to `commit`: tags first (they name it for `describe`),
    /// then branches.
    fn refs_at(&self, commit: Oid) -> (Refs, Refs) {
        let at = |prefix: &str| {
            self.refs
                .iter()
                .filter(|(name, oid)| {
                    name.starts_with(prefix) && self.commit_of(name, *oid) == commit
                })
                .cloned()
                .collect::<Vec<_>>()
        };
        (at("refs/tags/"), at("refs/heads/"))
    }

    /// What to fetch for `rev` (`None`: the default branch) into `repo`.
    fn plan(&self, repo: &Repository, rev: Option<&str>) -> Plan {
        // (remote name, local name, advertised object)
        let mut wanted: Vec<(String, String, Oid)> = Vec::new();
        let mut head = None;
        let same = |name: &str, oid: Oid| (name.to_owned(), name.to_owned(), oid);
        match rev {
            None => {
                let Some((commit, target)) = &self.head else {
                    return Plan::Nothing;
                };
                match target.as_deref().filter(|t| self.get(t) == Some(*commit)) {
                    Some(branch) => wanted.push(same(branch, *commit)),
                    None => wanted.push(("HEAD".to_owned(), REMOTE_HEAD.to_owned(), *commit)),
                }
                head = Some(*commit);
                // The tags on the tip name it (`describe`) at no cost.
                let (tags, _) = self.refs_at(*commit);
                wanted.extend(tags.iter().map(|(n, o)| same(n, *o)));
            }
            Some(rev) => {
                let tag = format!("refs/tags/{rev}");
                let branch = format!("refs/heads/{rev}");
                if let Some(oid) = self.get(&tag) {
                    wanted.push(same(&tag, oid));
                } else if let Some(oid) = self.get(&branch) {
                    wanted.push(same(&branch, oid));
                    let (tags, _) = self.refs_at(oid);
                    wanted.extend(tags.iter().map(|(n, o)| same(n, *o)));
                } else {
                    let commit = if is_full_commit(rev) {
                        let Ok(commit) = Oid::from_str(rev) else {
                            return Plan::Nothing;
                        };
                        commit
                    } else if is_short_commit(rev) {
                        let prefix = rev.to_ascii_lowercase();
                        let tip = self
                            .refs
                            .iter()
                            .map(|(n, o)| self.commit_of(n, *o))
                            .find(|commit| commit.to_string().starts_with(&prefix));
                        match tip {
                            Some(commit) => commit,
                            None => return Plan::Everything,
                        }
                    } else {
                        return Plan::Nothing;
                    };
                    let (tags, branches) = self.refs_at(commit);
                    match (tags.is_empty(), branches.first()) {
                        (false, _) => wanted.extend(tags.iter().map(|(n, o)| same(n, *o))),
                        (true, Some((name, oid))) => wanted.push(same(name, *oid)),
                        (true, None) => return Plan::ById(commit),
                    }
                }
            }
        }
        let have = |oid: Oid| is_whole(repo, oid);
        let mut present = Vec::new();
        let mut fetch = Vec::new();
        for (remote, local, oid) in wanted {
            if have(oid) {
                present.push((local, oid));
            } else {
                fetch.push(format!("+{remote}:{local}"));
            }
        }
        Plan::Refs {
            present,
            fetch,
            head,
        }
    }
}

/// Points `name` at `oid`, writing nothing when it already does (a no-op
/// upgrade following a branch leaves the mirror untouched).
fn set_ref(repo: &Repository, name: &str, oid: Oid) -> std::result::Result<(), git2::Error> {
    if repo.refname_to_id(name).ok() != Some(oid) {
        repo.reference(name, oid, true, "lava-deploy")?;
    }
    Ok(())
}

/// The server would not give a commit by its id: libgit2 saw no
/// `allow-*-sha1-in-want` capability, or the server said "not our ref".
fn refused_by_id(err: &git2::Error) -> bool {
    let message = err.message();
    message.contains("cannot fetch a specific object") || message.contains("not our ref")
}

impl Mirror {
    /// One attempt at fetching what `rev` needs from a network remote.
    pub(super) fn fetch_for(
        &self,
        repo: &Repository,
        rev: Option<&str>,
    ) -> std::result::Result<Option<String>, FetchError> {
        let mut remote = repo.remote_anonymous(&self.url)?;
        let auth = RefCell::new(AuthAttempts::default());
        let result = (|| -> std::result::Result<Step, git2::Error> {
            // One connection: the listing, then the fetch on it (libgit2
            // reuses a connected remote), as `git fetch` does.
            let mut connection =
                remote.connect_auth(Direction::Fetch, Some(callbacks(&auth)), None)?;
            let advertised = Advertised::new(connection.list()?);
            let plan = advertised.plan(repo, rev);
            tracing::debug!("{}: {plan:?}", self.url);
            match plan {
                Plan::Refs {
                    present,
                    fetch,
                    head,
                } => {
                    for (name, oid) in present {
                        set_ref(repo, &name, oid)?;
                    }
                    if !fetch.is_empty() {
                        let depth = fetch_depth(repo);
                        let mut refspecs = fetch.clone();
                        if depth == 0 {
                            // A whole mirror keeps every tag, so that `git
                            // describe` of a new tip sees a tag made since.
                            refspecs.push("+refs/tags/*:refs/tags/*".to_owned());
                        }
                        let mut options = fetch_options(&auth, depth);
                        let fetched =
                            connection
                                .remote()
                                .fetch(&refspecs, Some(&mut options), None);
                        match fetched {
                            Err(err) if err.message().contains("support shallow") => {
                                return Ok(Step::Deep { fetch, head });
                            }
                            other => other?,
                        }
                    }
                    if let Some(head) = head {
                        set_ref(repo, REMOTE_HEAD, head)?;
                    }
                    Ok(Step::Done)
                }
                Plan::ById(commit) => {
                    let spec = format!("+{commit}:{PINS}{commit}");
                    let mut options = fetch_options(&auth, fetch_depth(repo));
                    match connection.remote().fetch(&[spec], Some(&mut options), None) {
                        Ok(()) => Ok(Step::Done),
                        Err(err) if refused_by_id(&err) => Ok(Step::Everything(Some(format!(
                            "the server did not give it by its id ({}; a server gives \
                             commits that no ref points at only with \
                             uploadpack.allowReachableSHA1InWant or allowAnySHA1InWant)",
                            err.message().trim()
                        )))),
                        Err(err) => Err(err),
                    }
                }
                Plan::Everything => Ok(Step::Everything(None)),
                Plan::Nothing => Ok(Step::Done),
            }
        })();
        match auth_failure(result, auth, &self.url)? {
            Step::Done => Ok(None),
            Step::Deep { fetch, head } => {
                tracing::warn!(
                    "{} cannot send shallow history; fetching {} with its whole history",
                    self.url,
                    fetch.join(" ")
                );
                let mut remote = repo.remote_anonymous(&self.url)?;
                let auth = RefCell::new(AuthAttempts::default());
                let mut options = fetch_options(&auth, 0);
                let result = remote.fetch(&fetch, Some(&mut options), None);
                drop(options);
                auth_failure(result, auth, &self.url)?;
                if let Some(head) = head {
                    set_ref(repo, REMOTE_HEAD, head)?;
                }
                Ok(None)
            }
            Step::Everything(note) => {
                match (&note, rev) {
                    (Some(note), Some(rev)) => tracing::warn!(
                        "{}: commit {rev} is not the tip of any branch or tag, and {note}; \
                         fetching every branch and tag with their whole history to look for it",
                        self.url
                    ),
                    _ => tracing::info!(
                        "{}: {} is not the tip of any branch or tag; fetching every branch \
                         and tag with their whole history to find it",
                        self.url,
                        rev.unwrap_or("HEAD")
                    ),
                }
                let depth = if repo.is_shallow() { UNSHALLOW } else { 0 };
                self.fetch_everything(repo, depth)?;
                mark_whole(repo)?;
                Ok(note)
            }
        }
    }
}

impl From<git2::Error> for FetchError {
    fn from(err: git2::Error) -> Self {
        FetchError::Git(err)
    }
}
