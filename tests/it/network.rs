//! Git over real transports: `git daemon` (git://) and `git http-backend`
//! (smart HTTP) on 127.0.0.1. Mirrors of network URLs are shallow and hold
//! only what the pins need.

use std::path::{Path, PathBuf};
use std::process::Command;

use predicates::prelude::*;

use crate::support::serve::{GitDaemon, GitHttp};
use crate::support::{list_dir, sha256_hex, stderr_of, Env, GitRepo};

/// Files in the component: a whole second copy of them would show in the
/// object counts.
const FILES: usize = 40;

/// A repository with five commits on `main`: tag `v1` on the third, `v2`
/// on the fifth; each commit changes `VERSION` only.
fn history_repo(path: &Path) -> (GitRepo, Vec<String>) {
    let repo = GitRepo::init(path);
    for i in 0..FILES {
        repo.write(&format!("files/f{i:02}.txt"), &format!("file {i}\n"));
    }
    let mut commits = Vec::new();
    for n in 1..=5 {
        repo.write("VERSION", &format!("{n}\n"));
        commits.push(repo.commit(&format!("commit {n}")));
        match n {
            3 => {
                repo.tag("v1");
            }
            5 => {
                repo.tag("v2");
            }
            _ => {}
        }
    }
    (repo, commits)
}

fn component(name: &str, url: &str, rev: Option<&str>) -> String {
    let rev = rev.map(|r| format!("rev = \"{r}\"\n")).unwrap_or_default();
    format!("[components.{name}]\ngit = \"{url}\"\n{rev}")
}

/// A manifest repository in the served directory, committed, tagged when asked.
fn served_manifest(srv: &Path, text: &str, tag: Option<&str>) -> GitRepo {
    let repo = GitRepo::init(&srv.join("manifest"));
    repo.write("lava.toml", text);
    repo.commit("manifest");
    if let Some(tag) = tag {
        repo.tag(tag);
    }
    repo
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The v2 mirror of the repository whose URL ends in `name`.
fn mirror(env: &Env, name: &str) -> PathBuf {
    let db = env.root.join("cache/git-v2/db");
    let found: Vec<String> = list_dir(&db)
        .into_iter()
        .filter(|m| m.starts_with(&format!("{name}-")) && !m.ends_with(".lock"))
        .collect();
    assert_eq!(found.len(), 1, "one mirror of {name} in {}", db.display());
    db.join(&found[0])
}

fn is_shallow(mirror: &Path) -> bool {
    git(mirror, &["rev-parse", "--is-shallow-repository"]) == "true"
}

/// Commits in the mirror, from every ref.
fn commit_count(mirror: &Path) -> usize {
    git(mirror, &["rev-list", "--count", "--all"])
        .parse()
        .unwrap()
}

/// Objects in each pack of the mirror, smallest first.
fn pack_sizes(mirror: &Path) -> Vec<usize> {
    let pack_dir = mirror.join("objects/pack");
    let mut sizes: Vec<usize> = list_dir(&pack_dir)
        .iter()
        .filter(|name| name.ends_with(".idx"))
        .map(|idx| {
            let output = Command::new("git")
                .arg("show-index")
                .stdin(std::fs::File::open(pack_dir.join(idx)).unwrap())
                .output()
                .unwrap();
            assert!(output.status.success());
            String::from_utf8_lossy(&output.stdout).lines().count()
        })
        .collect();
    sizes.sort();
    sizes
}

fn version_in(env: &Env, instance: &str, component: &str) -> String {
    let file = env
        .instance_dir(instance)
        .join("code/current/src")
        .join(component)
        .join("VERSION");
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// Shallow install at a tag, then an upgrade to the next tag that fetches
/// only the new commit's objects, then a no-op upgrade that fetches nothing.
fn tag_install_and_upgrade(env: &Env, srv: &Path, url: impl Fn(&str) -> String) {
    let (_tool, commits) = history_repo(&srv.join("tool"));
    let manifest = served_manifest(
        srv,
        &component("tool", &url("tool"), Some("v1")),
        Some("2012.07"),
    );
    let spec = |tag: &str| format!("{}#{tag}", url("manifest"));
    env.run(&["install", "x", "--manifest-branch", &spec("2012.07")])
        .success();
    assert_eq!(version_in(env, "x", "tool"), "3\n");
    let lock = env.current_lock("x");
    assert_eq!(
        lock["components"]["tool"]["commit"].as_str(),
        Some(commits[2].as_str())
    );
    assert_eq!(lock["manifest"]["describe"].as_str(), Some("2012.07"));
    assert_eq!(env.current("x"), "0001-2012.07");

    let tool_mirror = mirror(env, "tool");
    assert!(is_shallow(&tool_mirror), "the tag is fetched shallow");
    assert_eq!(commit_count(&tool_mirror), 1, "only the pinned commit");
    let first = pack_sizes(&tool_mirror);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        first[0] > FILES,
        "the first pack has the whole tree: {first:?}"
    );
    let manifest_mirror = mirror(env, "manifest");
    assert!(
        is_shallow(&manifest_mirror),
        "the manifest is fetched shallow"
    );
    assert_eq!(commit_count(&manifest_mirror), 1);

    manifest.write("lava.toml", &component("tool", &url("tool"), Some("v2")));
    manifest.commit("tool v2");
    manifest.tag("2012.08");
    env.run(&["upgrade", "x", "--manifest-branch", &spec("2012.08")])
        .success()
        .stdout(predicate::str::contains("release 0002-2012.08"));
    assert_eq!(version_in(env, "x", "tool"), "5\n");
    assert!(is_shallow(&tool_mirror));
    assert_eq!(
        commit_count(&tool_mirror),
        2,
        "v1 and v2 only, not the commit between them"
    );
    let packs = pack_sizes(&tool_mirror);
    assert_eq!(packs.len(), 2, "{packs:?}");
    // The tag, its commit, the root tree and the changed VERSION blob: the
    // unchanged files/ tree and its blobs are not sent again.
    assert!(
        packs[0] <= 4,
        "the upgrade fetched only new objects: {packs:?}"
    );

    // Nothing changed: no component is fetched, the manifest tag is cached.
    let assert = env.run(&["-v", "upgrade", "x"]).success();
    let stderr = stderr_of(&assert);
    assert!(
        String::from_utf8_lossy(&assert.get_output().stdout).contains("up to date"),
        "{stderr}"
    );
    assert!(!stderr.contains("fetching "), "{stderr}");
    assert_eq!(pack_sizes(&tool_mirror), packs);
}

#[test]
fn tags_are_fetched_shallow_over_git_daemon_and_upgrades_fetch_only_new_objects() {
    let env = Env::new();
    let srv = env.path("srv");
    let daemon = GitDaemon::start(&srv);
    tag_install_and_upgrade(&env, &srv, |name| daemon.url(name));
}

#[test]
fn tags_are_fetched_shallow_over_smart_http() {
    let env = Env::new();
    let srv = env.path("srv");
    let http = GitHttp::start(&srv);
    tag_install_and_upgrade(&env, &srv, |name| http.url(name));
    assert!(
        http.requests() > 0,
        "the fetches went through the HTTP server"
    );
    // The manifest's default branch: its tip, tagged 2012.08, is already here.
    let manifest_mirror = mirror(&env, "manifest");
    env.run(&["upgrade", "x", "--manifest-branch", &http.url("manifest")])
        .success()
        .stdout(predicate::str::contains("now follows"));
    assert_eq!(commit_count(&manifest_mirror), 2, "nothing fetched");
    assert_eq!(env.current("x"), "0002-2012.08");
}

#[test]
fn pinned_commits_are_fetched_by_their_tag_or_by_id() {
    let env = Env::new();
    let srv = env.path("srv");
    let (tool, commits) = history_repo(&srv.join("tool"));
    // commits[2] is tagged v1; commits[3] is no ref's tip.
    tool.git(&["config", "uploadpack.allowReachableSHA1InWant", "true"]);
    let daemon = GitDaemon::start(&srv);
    let url = daemon.url("tool");
    let text = format!(
        "{}{}",
        component("tagged", &url, Some(&commits[2])),
        component("middle", &url, Some(&commits[3]))
    );
    let manifest = served_manifest(&srv, &text, None);
    env.run(&["install", "x", "--manifest-branch", &daemon.url("manifest")])
        .success();
    assert_eq!(version_in(&env, "x", "tagged"), "3\n");
    assert_eq!(version_in(&env, "x", "middle"), "4\n");
    let lock = env.current_lock("x");
    assert_eq!(
        lock["components"]["middle"]["commit"].as_str(),
        Some(commits[3].as_str())
    );
    let tool_mirror = mirror(&env, "tool");
    assert!(is_shallow(&tool_mirror));
    assert_eq!(commit_count(&tool_mirror), 2, "the two pinned commits only");
    // The manifest's default branch: its tip only.
    assert!(is_shallow(&mirror(&env, "manifest")));
    assert_eq!(manifest.head().len(), 40);
    assert_eq!(commit_count(&mirror(&env, "manifest")), 1);
}

#[test]
fn a_commit_the_server_does_not_give_is_an_error_naming_it_and_the_url() {
    let env = Env::new();
    let srv = env.path("srv");
    let (tool, commits) = history_repo(&srv.join("tool"));
    // A commit no ref leads to any more.
    tool.git(&["checkout", "-q", "-b", "gone"]);
    tool.write("VERSION", "dangling\n");
    let dangling = tool.commit("dangling");
    tool.git(&["checkout", "-q", "main"]);
    tool.git(&["branch", "-q", "-D", "gone"]);
    let daemon = GitDaemon::start(&srv);
    let url = daemon.url("tool");

    // A reachable commit that is no tip, from a server that gives no
    // commit by id: found in the whole history, said on stderr.
    let manifest = served_manifest(&srv, &component("tool", &url, Some(&commits[3])), None);
    let assert = env
        .run(&["install", "x", "--manifest-branch", &daemon.url("manifest")])
        .success();
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("whole history"), "{stderr}");
    assert!(stderr.contains(&commits[3]), "{stderr}");
    assert_eq!(version_in(&env, "x", "tool"), "4\n");
    assert_eq!(commit_count(&mirror(&env, "tool")), 5);

    // A commit no ref leads to: an error naming it and the URL.
    manifest.write("lava.toml", &component("tool", &url, Some(&dangling)));
    manifest.commit("dangling");
    let assert = env.run(&["upgrade", "x"]).code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!("commit {dangling} not found in {url}")),
        "{stderr}"
    );
    assert!(stderr.contains("by its id"), "{stderr}");
    assert_eq!(env.code_entries("x").len(), 2, "no new release");

    // A server that gives any commit by id gives the dangling one too.
    tool.git(&["config", "uploadpack.allowAnySHA1InWant", "true"]);
    env.run(&["upgrade", "x"]).success();
    assert_eq!(version_in(&env, "x", "tool"), "dangling\n");
}

#[test]
fn branches_and_default_branches_follow_their_tips_shallow() {
    let env = Env::new();
    let srv = env.path("srv");
    let (tool, _) = history_repo(&srv.join("tool"));
    let daemon = GitDaemon::start(&srv);
    let url = daemon.url("tool");
    let text = format!(
        "[manifest]\nallow-unpinned = true\n{}{}",
        component("onmain", &url, Some("main")),
        component("default", &url, None)
    );
    served_manifest(&srv, &text, None);
    env.run(&["install", "x", "--manifest-branch", &daemon.url("manifest")])
        .success();
    assert_eq!(version_in(&env, "x", "onmain"), "5\n");
    assert_eq!(version_in(&env, "x", "default"), "5\n");
    let tool_mirror = mirror(&env, "tool");
    assert!(is_shallow(&tool_mirror));
    assert_eq!(commit_count(&tool_mirror), 1, "the tip only");

    // Nothing moved: the server is asked, but no pack comes.
    let packs = pack_sizes(&tool_mirror);
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("up to date"));
    assert_eq!(pack_sizes(&tool_mirror), packs);

    tool.write("VERSION", "6\n");
    let six = tool.commit("six");
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("release 0002-"));
    assert_eq!(version_in(&env, "x", "onmain"), "6\n");
    assert_eq!(version_in(&env, "x", "default"), "6\n");
    let lock = env.current_lock("x");
    assert_eq!(
        lock["components"]["default"]["commit"].as_str(),
        Some(six.as_str())
    );
    assert!(is_shallow(&tool_mirror));
    assert_eq!(commit_count(&tool_mirror), 2, "the old and the new tip");
}

#[test]
fn shallow_mirrors_serve_offline_installs_and_verify() {
    let env = Env::new();
    let srv = env.path("srv");
    let (_tool, _) = history_repo(&srv.join("tool"));
    let daemon = GitDaemon::start(&srv);
    served_manifest(
        &srv,
        &component("tool", &daemon.url("tool"), Some("v1")),
        Some("2012.07"),
    );
    let spec = format!("{}#2012.07", daemon.url("manifest"));
    env.run(&["install", "x", "--manifest-branch", &spec])
        .success();
    // The server is gone: everything comes from the shallow mirrors.
    drop(daemon);
    env.run(&["install", "y", "--offline", "--manifest-branch", &spec])
        .success();
    assert_eq!(version_in(&env, "y", "tool"), "3\n");
    env.run(&["verify", "x"]).success();
    let file = env
        .instance_dir("x")
        .join("code/current/src/tool/files/f07.txt");
    std::fs::write(&file, "edited\n").unwrap();
    env.run(&["verify", "x"])
        .code(1)
        .stdout(predicate::str::contains("files/f07.txt"));
}

/// The directory name the cache gives a URL (`cache::entry_name`).
fn entry_name(url: &str) -> String {
    let tail = url.rsplit('/').next().unwrap();
    format!("{tail}-{}", &sha256_hex(url.as_bytes())[..16])
}

/// A mirror as lava-deploy 0.1 left it in `cache/git-v1`: every branch and
/// tag, the default branch's commit, the completion marker.
fn v1_mirror(env: &Env, repo: &GitRepo) -> PathBuf {
    let dest = env
        .root
        .join("cache/git-v1/db")
        .join(entry_name(&repo.url()));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let status = Command::new("git")
        .args(["clone", "-q", "--mirror"])
        .arg(&repo.path)
        .arg(&dest)
        .status()
        .unwrap();
    assert!(status.success());
    git(&dest, &["update-ref", "refs/lava/remote-HEAD", "HEAD"]);
    std::fs::write(dest.join(".lava-complete"), repo.url()).unwrap();
    dest
}

#[test]
fn a_git_v1_cache_is_taken_over_ref_by_ref_after_checking() {
    let env = Env::new();
    let (tool, commits) = history_repo(&env.path("tool"));
    let manifest = env.git_repo("manifest");
    manifest
        .write("lava.toml", &component("tool", &tool.url(), Some("v1")))
        .write(
            "broken.toml",
            &component("tool", &tool.url(), Some("bogus")),
        );
    manifest.commit("manifest");
    v1_mirror(&env, &manifest);
    let old_tool = v1_mirror(&env, &tool);
    // A ref the old mirror has but whose commit it does not: not taken over.
    std::fs::write(
        old_tool.join("refs/tags/bogus"),
        format!("{}\n", "1".repeat(40)),
    )
    .unwrap();
    // The component's source is gone and the run is offline: the old cache
    // alone must serve.
    std::fs::rename(&tool.path, env.path("tool-gone")).unwrap();

    let spec = manifest.url();
    env.run(&["install", "x", "--offline", "--manifest-branch", &spec])
        .success();
    assert_eq!(version_in(&env, "x", "tool"), "3\n");
    assert_eq!(
        env.current_lock("x")["components"]["tool"]["commit"].as_str(),
        Some(commits[2].as_str())
    );
    let new_tool = mirror(&env, "tool");
    let tags = git(&new_tool, &["tag", "--list"]);
    assert!(tags.contains("v2"), "every sound tag taken over: {tags}");
    assert!(
        !tags.contains("bogus"),
        "a tag without its commit is not: {tags}"
    );
    env.run(&[
        "install",
        "y",
        "--offline",
        "--manifest-branch",
        &spec,
        "--cfg",
        "broken.toml",
    ])
    .code(1)
    .stderr(predicate::str::contains("\"bogus\" not found"));
    // The old cache is only read.
    assert!(old_tool.join("refs/tags/bogus").is_file());
}

#[test]
fn abbreviated_commits_fetch_history_unless_they_abbreviate_a_tip() {
    let env = Env::new();
    let srv = env.path("srv");
    let (_tool, commits) = history_repo(&srv.join("tool"));
    let (_other, other_commits) = history_repo(&srv.join("other"));
    let daemon = GitDaemon::start(&srv);
    // commits[3] is no ref's tip; other_commits[2] is v1's commit.
    let text = format!(
        "[manifest]\nallow-unpinned = true\n{}{}",
        component("tool", &daemon.url("tool"), Some(&commits[3][..7])),
        component("other", &daemon.url("other"), Some(&other_commits[2][..7]))
    );
    served_manifest(&srv, &text, None);
    env.run(&["install", "x", "--manifest-branch", &daemon.url("manifest")])
        .success();
    assert_eq!(version_in(&env, "x", "tool"), "4\n");
    assert_eq!(version_in(&env, "x", "other"), "3\n");
    let lock = env.current_lock("x");
    assert_eq!(
        lock["components"]["tool"]["commit"].as_str(),
        Some(commits[3].as_str()),
        "recorded in full"
    );
    // Only history can say what commits[3] abbreviates.
    let tool_mirror = mirror(&env, "tool");
    assert!(!is_shallow(&tool_mirror));
    assert_eq!(commit_count(&tool_mirror), 5);
    // v1's commit is a tag's tip: the tag alone, shallow.
    let other_mirror = mirror(&env, "other");
    assert!(is_shallow(&other_mirror));
    assert_eq!(commit_count(&other_mirror), 1);
}

#[test]
fn a_fetch_killed_before_it_recorded_the_shallow_boundary_is_repaired() {
    let env = Env::new();
    let srv = env.path("srv");
    let (tool, commits) = history_repo(&srv.join("tool"));
    tool.git(&["branch", "stable", &commits[2]]);
    let daemon = GitDaemon::start(&srv);
    let url = daemon.url("tool");
    let manifest = served_manifest(&srv, &component("tool", &url, Some(&commits[2])), None);
    env.run(&["install", "x", "--manifest-branch", &daemon.url("manifest")])
        .success();
    // libgit2 moves a fetched pack into place, then records the shallow
    // boundaries, then the refs: a run killed in between leaves the
    // commit here with neither its parent nor a record of the boundary.
    let tool_mirror = mirror(&env, "tool");
    std::fs::remove_file(tool_mirror.join("shallow")).unwrap();
    git(&tool_mirror, &["update-ref", "-d", "refs/tags/v1"]);
    // A branch whose tip is that commit: it must be fetched again, not
    // pointed at the commit that is here (every later negotiation would
    // then walk into the missing parent).
    let text = |rev: &str| {
        format!(
            "[manifest]\nallow-unpinned = true\n{}",
            component("tool", &url, Some(rev))
        )
    };
    manifest.write("lava.toml", &text("stable"));
    manifest.commit("stable");
    env.run(&["upgrade", "x"]).success();
    let shallow = std::fs::read_to_string(tool_mirror.join("shallow")).unwrap();
    assert!(shallow.contains(&commits[2]), "{shallow}");
    manifest.write("lava.toml", &text("v2"));
    manifest.commit("v2");
    env.run(&["upgrade", "x"]).success();
    assert_eq!(version_in(&env, "x", "tool"), "5\n");
    assert_eq!(commit_count(&tool_mirror), 2);
}
