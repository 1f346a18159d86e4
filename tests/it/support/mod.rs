//! Test fixtures: a temp root, real git repositories, a real HTTP server on
//! 127.0.0.1, and a fluent way to run the binary.

#![allow(dead_code)]

pub mod browser;
pub mod faults;
pub mod git;
pub mod http;
pub mod index;
pub mod lava;
pub mod oracle;
pub mod serve;
pub mod signing;
pub mod skip;
pub mod tls;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

pub use git::GitRepo;
pub use http::HttpServer;
pub use serve::free_port;
pub use skip::require;

/// The python the tests' helpers run and take tools from (the wheel helper
/// repackaging setuptools and setuptools-scm, the zc.buildout oracle, the
/// SBOM validators): `LAVA_TEST_PYTHON`, which `tools/test` points at its
/// venv (tools/test-requirements.txt), else `python3` on PATH.
pub fn test_python() -> String {
    std::env::var("LAVA_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Environment variables of the product, removed from every test run so the
/// developer's own shell cannot leak in.
const PRODUCT_VARS: &[&str] = &[
    "LAVA_ROOT",
    "LAVA_MANIFEST_BRANCH",
    "LAVA_BUILDOUT_CFG",
    "LAVA_OFFLINE",
    "LAVA_JOBS",
    "LAVA_LOG",
    "LAVA_MANIFEST_SIGNERS",
    "LAVA_MANIFEST_REVOKED",
];

/// One test's world: a temp dir holding the root and any fixtures.
pub struct Env {
    pub tmp: TempDir,
    pub root: PathBuf,
}

impl Env {
    pub fn new() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("lava-it-")
            .tempdir()
            .unwrap();
        let root = tmp.path().join("root");
        Env { tmp, root }
    }

    /// A path inside the test's temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The binary with `--root` set and a clean environment.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The same as a plain `std::process::Command`, to spawn and kill.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("lava-deploy"));
        for var in PRODUCT_VARS {
            cmd.env_remove(var);
        }
        cmd.env_remove("LAVA_FAILPOINT")
            .env_remove("LAVA_FAILPOINT_RELEASE")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.tmp.path())
            .arg("--root")
            .arg(&self.root);
        cmd
    }

    /// Starts `args` paused at failpoint `point` and returns once it is
    /// there (its stderr said so), so the test can kill it.
    pub fn spawn_paused(&self, point: &str, args: &[&str]) -> std::process::Child {
        self.spawn_paused_with(point, args, |_| {})
    }

    /// `spawn_paused` with more settings for the command (`LAVA_FAILPOINT_RELEASE`, `--wait`).
    pub fn spawn_paused_with(
        &self,
        point: &str,
        args: &[&str],
        setup: impl FnOnce(&mut std::process::Command),
    ) -> std::process::Child {
        use std::io::BufRead;
        let mut cmd = self.std_cmd();
        setup(&mut cmd);
        let mut child = cmd
            .env("LAVA_FAILPOINT", point)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let wanted = format!("failpoint {point} reached");
        std::thread::spawn(move || {
            let mut seen = String::new();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(&wanted) {
                    let _ = tx.send(Ok(()));
                    // Keep draining so the child never blocks on a full pipe.
                    continue;
                }
            }
            let _ = tx.send(Err(seen));
        });
        match rx.recv_timeout(std::time::Duration::from_secs(120)) {
            Ok(Ok(())) => child,
            Ok(Err(seen)) => panic!("{args:?} ended before failpoint {point}:\n{seen}"),
            Err(_) => {
                let _ = child.kill();
                panic!("{args:?} did not reach failpoint {point}");
            }
        }
    }

    /// `lava-deploy <args>` under this env.
    pub fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.cmd().args(args).assert()
    }

    /// `lava-deploy install NAME --manifest-branch <repo>`.
    pub fn install_from(&self, name: &str, repo: &GitRepo) -> assert_cmd::assert::Assert {
        self.run(&["install", name, "--manifest-branch", &repo.url()])
    }

    /// A repository whose file `file` takes each of `versions` in turn, one
    /// commit and tag per version.
    pub fn tagged_repo(&self, name: &str, file: &str, versions: &[(&str, &str)]) -> GitRepo {
        let repo = self.git_repo(name);
        for (tag, contents) in versions {
            repo.write(file, contents);
            repo.commit(tag);
            repo.tag(tag);
        }
        repo
    }

    /// A fresh git repository in the temp dir.
    pub fn git_repo(&self, name: &str) -> GitRepo {
        GitRepo::init(&self.path(name))
    }

    /// A manifest branch holding `lava.toml` (and `files`), committed and tagged.
    pub fn manifest_repo(&self, lava_toml: &str, tag: Option<&str>) -> GitRepo {
        let repo = self.git_repo("manifest");
        repo.write("lava.toml", lava_toml);
        repo.commit("manifest");
        if let Some(tag) = tag {
            repo.tag(tag);
        }
        repo
    }

    pub fn instance_dir(&self, name: &str) -> PathBuf {
        self.root.join("instances").join(name)
    }

    /// Where `code/current` points (the link text).
    pub fn current(&self, name: &str) -> String {
        let link = self.instance_dir(name).join("code/current");
        std::fs::read_link(&link)
            .unwrap_or_else(|e| panic!("{} is not a symlink: {e}", link.display()))
            .to_string_lossy()
            .into_owned()
    }

    /// Entries of `code/`, sorted (releases, `current`, leftovers).
    pub fn code_entries(&self, name: &str) -> Vec<String> {
        list_dir(&self.instance_dir(name).join("code"))
    }

    /// `lava.lock` of the current release, if there is one.
    pub fn current_lock_opt(&self, name: &str) -> Option<toml::Table> {
        let path = self.instance_dir(name).join("code/current/lava.lock");
        path.is_file().then(|| read_toml(&path))
    }

    /// `lava.lock` of the current release, parsed.
    pub fn current_lock(&self, name: &str) -> toml::Table {
        let path = self.instance_dir(name).join("code/current/lava.lock");
        read_toml(&path)
    }
}

/// A manifest entry for a git component at `rev`.
pub fn git_component(name: &str, repo: &GitRepo, rev: &str) -> String {
    format!(
        "[components.{name}]\ngit = \"{}\"\nrev = \"{rev}\"\n",
        repo.url()
    )
}

/// Runs a program (a console script, `bin/python`) and returns its
/// trimmed stdout, failing the test with its stderr if it fails.
pub fn run_ok(program: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(
        output.status.success(),
        "{} failed: {}",
        program.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

pub fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Output of a finished command as text.
pub fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

pub fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// A `.tar.gz` of `files` (path, contents), all under `top/` when given.
pub fn tar_gz(top: Option<&str>, files: &[(&str, &str)]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for (path, contents) in files {
        let full = match top {
            Some(top) => format!("{top}/{path}"),
            None => path.to_string(),
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(if path.starts_with("bin/") {
            0o755
        } else {
            0o644
        });
        header.set_cksum();
        builder
            .append_data(&mut header, full, contents.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A `.zip` of `files`, all under `top/` when given.
pub fn zip_bytes(top: Option<&str>, files: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, contents) in files {
        let full = match top {
            Some(top) => format!("{top}/{path}"),
            None => path.to_string(),
        };
        zip.start_file(full, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(contents.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A `.tar.xz` of `files` under `top/`.
pub fn tar_xz(top: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let encoder = xz2::write::XzEncoder::new(Vec::new(), 1);
    let mut builder = tar::Builder::new(encoder);
    for (path, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("{top}/{path}"), contents.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// The `phase` of each hook in a `--json` report, in order.
pub fn hook_phases(report: &serde_json::Value) -> Vec<String> {
    report["hooks"]
        .as_array()
        .expect("a hooks array")
        .iter()
        .map(|h| h["phase"].as_str().expect("a phase").to_owned())
        .collect()
}
