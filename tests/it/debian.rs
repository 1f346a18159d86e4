//! The Debian package as an admin meets it (opt-in: a release build and
//! cargo-deb; `.ci/run` runs it, as root): `tools/deb` builds it, `dpkg -i`
//! installs it on this machine, the binary, its man page and its bash
//! completion work from their Debian places, and `dpkg -r` leaves none of
//! its files behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, git_component, Env};

const PACKAGE: &str = "lava-deploy";

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn package_installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", PACKAGE])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
}

/// Why this machine cannot take the test: it must be root with dpkg, and
/// must not have lava-deploy installed already (the test removes it).
fn missing() -> Option<String> {
    if unsafe { libc::geteuid() } != 0 {
        return Some("installing a .deb needs root".into());
    }
    if Command::new("dpkg").arg("--version").output().is_err() {
        return Some("dpkg is not installed (not a Debian machine)".into());
    }
    if package_installed() || Path::new("/usr/bin/lava-deploy").exists() {
        return Some(
            "lava-deploy is installed on this machine already; the test would remove it".into(),
        );
    }
    None
}

/// Removes the package when the test ends early, so a failure leaves the
/// machine as it was.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        if package_installed() {
            let _ = Command::new("dpkg").args(["-r", PACKAGE]).status();
        }
    }
}

/// `lava-deploy_<version>-<revision>_<arch>.deb` of this crate's version.
fn built_package(manifest_dir: &Path) -> PathBuf {
    let prefix = format!("{PACKAGE}_{}-", env!("CARGO_PKG_VERSION"));
    let dir = manifest_dir.join("target/debian");
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".deb")
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one package of this version in {}: {found:?}",
        dir.display()
    );
    found.into_iter().next().unwrap()
}

#[test]
#[ignore = "builds a release and a .deb (cargo-deb), installs it with dpkg; run by .ci/run"]
fn the_package_installs_works_and_removes_cleanly() {
    if !support::require(missing()) {
        return;
    }
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tools_deb = manifest_dir.join("tools/deb");
    run(tools_deb.to_str().unwrap(), &[]);
    let deb = built_package(manifest_dir);

    let guard = Installed;
    run("dpkg", &["-i", deb.to_str().unwrap()]);
    let files: Vec<String> = run("dpkg", &["-L", PACKAGE])
        .lines()
        .map(str::to_owned)
        .collect();
    for wanted in [
        "/usr/bin/lava-deploy",
        "/usr/share/man/man1/lava-deploy.1.gz",
        "/usr/share/man/man1/lava-deploy-upgrade.1.gz",
        "/usr/share/bash-completion/completions/lava-deploy",
        "/usr/share/zsh/vendor-completions/_lava-deploy",
        "/usr/share/fish/vendor_completions.d/lava-deploy.fish",
        "/usr/share/lava-deploy/ansible/galaxy.yml",
        "/usr/share/lava-deploy/ansible/plugins/modules/lava_deploy.py",
    ] {
        assert!(
            files.iter().any(|f| f == wanted),
            "{wanted} not in the package: {files:?}"
        );
    }
    let control = run(
        "dpkg-query",
        &["-W", "-f=${Depends}\n${Recommends}", PACKAGE],
    );
    for wanted in [
        "python3-venv",
        "git",
        "libc6",
        "postgresql",
        "nginx | apache2",
        "openssh-client",
    ] {
        assert!(control.contains(wanted), "{wanted} not in {control}");
    }

    let version = run("/usr/bin/lava-deploy", &["--version"]);
    assert_eq!(
        version.trim(),
        format!("lava-deploy {}", env!("CARGO_PKG_VERSION"))
    );
    let page = run("man", &["-w", "lava-deploy"]);
    assert_eq!(page.trim(), "/usr/share/man/man1/lava-deploy.1.gz");
    let page = run("man", &["-w", "lava-deploy-upgrade"]);
    assert_eq!(page.trim(), "/usr/share/man/man1/lava-deploy-upgrade.1.gz");

    // An instance made by the installed binary, then the bash completion as
    // bash-completion loads it: a subcommand, then that instance's name.
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    let root = env.root.to_str().unwrap();
    run(
        "/usr/bin/lava-deploy",
        &[
            "--root",
            root,
            "install",
            "lab1",
            "--manifest-branch",
            &manifest.url(),
        ],
    );
    let complete = |line: &str| {
        let script = format!(
            "source /usr/share/bash-completion/completions/lava-deploy
             COMP_WORDS=({line}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMP_TYPE=9
             complete -p lava-deploy >/dev/null || exit 3
             _clap_complete_lava_deploy lava-deploy \"${{COMP_WORDS[COMP_CWORD]}}\"
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(complete("lava-deploy upgr").trim(), "upgrade");
    assert_eq!(
        complete(&format!("lava-deploy --root {root} status l")).trim(),
        "lab1"
    );

    run("dpkg", &["-r", PACKAGE]);
    drop(guard);
    assert!(!package_installed());
    let left: Vec<&String> = files
        .iter()
        .filter(|f| {
            let path = Path::new(f.as_str());
            // Directories other packages share (/usr/share/man/man1) stay.
            path.exists() && (!path.is_dir() || f.contains("lava-deploy"))
        })
        .collect();
    assert!(left.is_empty(), "dpkg -r left these behind: {left:?}");
}
