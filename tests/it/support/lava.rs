//! Real LAVA for the opt-in tests: the fixture's 2026.07 source tree in a
//! git repository tagged as upstream tags it, made once per test run and
//! shared by every test that deploys it, and one installer cache for all of
//! them (so LAVA's dependencies are downloaded once).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Env, GitRepo};

/// LAVA's upstream repository, as the built-in manifests name it.
pub const UPSTREAM: &str = "https://gitlab.com/lava/lava.git";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/lava-2026.07.tar.gz")
}

/// Why the real LAVA cannot be deployed here (for `support::require`), or None.
pub fn missing() -> Option<String> {
    if !fixture().is_file() {
        return Some(format!("{} is not there", fixture().display()));
    }
    None
}

/// The repository of LAVA 2026.07 (tag `2026.07`), made on first use.
pub fn repo() -> &'static GitRepo {
    static REPO: OnceLock<GitRepo> = OnceLock::new();
    REPO.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lava-2026.07-git");
        if dir.join(".git").is_dir() {
            let repo = GitRepo { path: dir.clone() };
            if repo.git(&["tag", "--list", "2026.07"]) == "2026.07" {
                return repo;
            }
        }
        // Made beside its place and renamed in: a killed run leaves no
        // half-made repository to be taken for a whole one.
        let building = dir.with_extension(format!("tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&building);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&building).unwrap();
        let archive = flate2::read::GzDecoder::new(std::fs::File::open(fixture()).unwrap());
        let mut archive = tar::Archive::new(archive);
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().into_owned();
            let inner: PathBuf = path.components().skip(1).collect();
            if inner.as_os_str().is_empty() {
                continue;
            }
            entry.unpack(building.join(inner)).unwrap();
        }
        let repo = GitRepo::init(&building);
        repo.commit("LAVA 2026.07");
        repo.tag("2026.07");
        std::fs::rename(&building, &dir).unwrap();
        GitRepo { path: dir }
    })
}

/// A built-in manifest (`manifests/NAME`) with LAVA taken from `repo()`.
pub fn builtin(name: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("manifests")
            .join(name),
    )
    .unwrap();
    assert!(text.contains(UPSTREAM), "{name} does not name {UPSTREAM}");
    text.replace(UPSTREAM, &repo().url())
}

/// A file of `examples/`.
pub fn example(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(path),
    )
    .unwrap()
}

/// `lava-deploy` for a LAVA deployment: uv, with the installer cache
/// every LAVA test shares.
pub fn cmd(env: &Env) -> assert_cmd::Command {
    let mut cmd = env.cmd();
    cmd.env("LAVA_PYTHON_INSTALLER", "uv")
        .env(
            "UV_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("uv-cache-lava"),
        )
        .timeout(std::time::Duration::from_secs(900));
    cmd
}

/// The instance's own PostgreSQL cluster runs as user `postgres`, who must
/// reach it: the test's temp dir is private (0700) until opened here.
pub fn open_to_postgres(env: &Env) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(env.tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Why the instance's own cluster cannot run here, or None.
pub fn missing_postgresql() -> Option<String> {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().join("bin/initdb").is_file());
    (!found).then(|| {
        "PostgreSQL's server binaries are not installed (apt-get install postgresql)".to_owned()
    })
}

/// Whether process `pid` runs: a zombie (exited, not reaped yet by init,
/// the parent of every daemon) does not.
pub fn running(pid: &str) -> bool {
    std::fs::read_to_string(Path::new("/proc").join(pid).join("status")).is_ok_and(|status| {
        !status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains("(zombie)"))
    })
}

/// LAVA's REST API as the lab's admin sees it (token authentication,
/// never through a proxy: the servers are on this machine's addresses).
pub struct Api {
    base: String,
    token: String,
    client: reqwest::blocking::Client,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Self {
        Api {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            client: reqwest::blocking::Client::builder()
                .no_proxy()
                .build()
                .unwrap(),
        }
    }

    /// The server's address, `http://host:port` (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, path: &str) -> reqwest::blocking::RequestBuilder {
        self.client
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Token {}", self.token))
    }

    pub fn get(&self, path: &str) -> Value {
        let answer = self.request(path).send().unwrap();
        assert!(
            answer.status().is_success(),
            "GET {path}: {}",
            answer.status()
        );
        serde_json::from_slice(&answer.bytes().unwrap()).unwrap()
    }

    /// The text of a page, or why there is none (for diagnostics).
    pub fn text(&self, path: &str) -> Result<String, String> {
        match self.request(path).send() {
            Ok(answer) if answer.status().is_success() => {
                answer.text().map_err(|e| format!("GET {path}: {e}"))
            }
            Ok(answer) => Err(format!("GET {path}: {}", answer.status())),
            Err(e) => Err(format!("GET {path}: {e}")),
        }
    }

    pub fn status(&self, path: &str) -> u16 {
        self.request(path).send().unwrap().status().as_u16()
    }

    pub fn submit(&self, definition: &str) -> u64 {
        let body = self
            .client
            .post(format!("{}/api/v0.2/jobs/", self.base))
            .header("Authorization", format!("Token {}", self.token))
            .header("Content-Type", "application/json")
            .body(serde_json::json!({ "definition": definition }).to_string())
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        let answer: Value = serde_json::from_slice(&body).unwrap();
        answer["job_ids"][0]
            .as_u64()
            .unwrap_or_else(|| panic!("not submitted: {answer}"))
    }

    /// Waits for the job to finish (5 minutes at most); returns it.
    pub fn finished(&self, id: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let job = self.get(&format!("/api/v0.2/jobs/{id}/"));
            if job["state"] == "Finished" {
                return job;
            }
            assert!(Instant::now() < deadline, "job {id} did not finish: {job}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// (name, result) of the job's test cases of the given suite.
    pub fn results(&self, id: u64, suite: &str) -> Vec<(String, String)> {
        let suites = self.get(&format!("/api/v0.2/jobs/{id}/suites/"));
        let suite_id = suites["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"].as_str().is_some_and(|n| n.ends_with(suite)))
            .unwrap_or_else(|| panic!("no suite {suite}: {suites}"))["id"]
            .clone();
        let tests = self.get(&format!("/api/v0.2/jobs/{id}/tests/?limit=100"));
        tests["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["suite"] == suite_id)
            .map(|t| {
                (
                    t["name"].as_str().unwrap().to_owned(),
                    t["result"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}
