//! Real git repositories in temp dirs, driven through the git CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct GitRepo {
    pub path: PathBuf,
}

impl GitRepo {
    /// `git init` with `main` as the default branch.
    pub fn init(path: &Path) -> Self {
        std::fs::create_dir_all(path).unwrap();
        let repo = GitRepo {
            path: path.to_owned(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .args([
                "-c",
                "user.name=Test",
                "-c",
                "user.email=test@example.org",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(&self.path)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", "2012-07-24T12:00:00Z")
            .env("GIT_COMMITTER_DATE", "2012-07-24T12:00:00Z")
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Writes a file (creating directories) without committing.
    pub fn write(&self, path: &str, contents: &str) -> &Self {
        let full = self.path.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, contents).unwrap();
        self
    }

    /// Commits everything; returns the full commit id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    pub fn tag(&self, name: &str) -> &Self {
        self.git(&["tag", "-a", "-m", name, name]);
        self
    }

    pub fn branch(&self, name: &str) -> &Self {
        self.git(&["branch", name]);
        self
    }

    pub fn checkout(&self, name: &str) -> &Self {
        self.git(&["checkout", "-q", name]);
        self
    }

    /// `git clone` of this repository (by path) to `dest`; origin is the path.
    pub fn clone_to(&self, dest: &Path) {
        clone(&self.url(), dest);
    }

    /// `git clone` by `file://` URL, so origin differs in spelling from the path.
    pub fn clone_to_via_file_url(&self, dest: &Path) {
        clone(&self.file_url(), dest);
    }

    /// The repository as a manifest would name it: its absolute path.
    pub fn url(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    /// `url#reference`, for `--manifest-branch`.
    pub fn spec(&self, reference: &str) -> String {
        format!("{}#{reference}", self.url())
    }
}

fn clone(source: &str, dest: &Path) {
    let status = Command::new("git")
        .args(["clone", "-q", source])
        .arg(dest)
        .status()
        .expect("git runs");
    assert!(status.success(), "git clone {source} failed");
}
