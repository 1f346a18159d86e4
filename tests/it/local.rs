//! local/: checkouts that replace pinned components, whatever their
//! directory is called.

use std::path::Path;
use std::process::Command;

use predicates::prelude::*;

use crate::support::index::PackageIndex;
use crate::support::{git_component, run_ok, stderr_of, stdout_of, Env};

/// A python project `name` in `dir` whose console script `name` prints `says`.
fn python_project(dir: &Path, name: &str, metadata: &str, says: &str) {
    let module = name.replace('-', "_");
    std::fs::create_dir_all(dir.join(&module)).unwrap();
    std::fs::write(
        dir.join(&module).join("__init__.py"),
        format!("def main():\n    print({says:?})\n"),
    )
    .unwrap();
    let build = "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n";
    let scripts = format!("{name} = {module}:main");
    match metadata {
        "pyproject" => std::fs::write(
            dir.join("pyproject.toml"),
            format!("{build}[project]\nname = \"{name}\"\nversion = \"9.0.dev0\"\n[project.scripts]\n{name} = \"{module}:main\"\n"),
        )
        .unwrap(),
        "setup.cfg" => {
            std::fs::write(dir.join("pyproject.toml"), build).unwrap();
            std::fs::write(
                dir.join("setup.cfg"),
                format!("[metadata]\nname = {name}\nversion = 9.0.dev0\n[options]\npackages = {module}\n[options.entry_points]\nconsole_scripts =\n    {scripts}\n"),
            )
            .unwrap();
        }
        "setup.py" => {
            std::fs::write(dir.join("pyproject.toml"), build).unwrap();
            std::fs::write(
                dir.join("setup.py"),
                format!("from setuptools import setup\nsetup(\n    name='{name}',\n    version='9.0.dev0',\n    packages=['{module}'],\n    entry_points={{'console_scripts': ['{scripts}']}},\n)\n"),
            )
            .unwrap();
        }
        other => panic!("unknown metadata kind {other}"),
    }
}

fn python_manifest(index: &PackageIndex) -> String {
    format!(
        "[python]\nindex-url = \"{}\"\n[components.greet]\npython = \"1.0\"\n[components.colorlib]\npython = \"1.0\"\n\
         [components.lonely]\npython = \"1.0\"\n",
        index.url()
    )
}

#[test]
fn python_checkouts_override_by_project_name_and_are_editable() {
    let index = PackageIndex::start();
    for installer in ["pip", "uv"] {
        let env = Env::new();
        let manifest = env.manifest_repo(&python_manifest(&index), Some("v1"));
        env.cmd()
            .env("LAVA_PYTHON_INSTALLER", installer)
            .args(["install", "x", "--manifest-branch", &manifest.url()])
            .assert()
            .success();
        let instance = env.instance_dir("x");
        assert_eq!(
            run_ok(&instance.join("bin/greet"), &[]),
            "greet from greet 1.0"
        );

        // Dropped into code/current/local under names that say nothing.
        let local = instance.join("code/current/local");
        python_project(
            &local.join("my-devcopy"),
            "greet",
            "pyproject",
            "greet from the checkout",
        );
        python_project(
            &local.join("lonely-work"),
            "lonely",
            "setup.py",
            "lonely from the checkout",
        );
        env.cmd()
            .env("LAVA_PYTHON_INSTALLER", installer)
            .args(["rebuild", "x"])
            .assert()
            .success();
        assert_eq!(env.current("x"), "0002-v1", "{installer}");
        assert_eq!(
            run_ok(&instance.join("bin/greet"), &[]),
            "greet from the checkout",
            "{installer}"
        );
        assert_eq!(
            run_ok(&instance.join("bin/lonely"), &[]),
            "lonely from the checkout",
            "{installer}"
        );
        let src = std::fs::read_link(instance.join("code/current/src/greet")).unwrap();
        assert_eq!(src, Path::new("../local/my-devcopy"));

        // Editable: a change in the checkout takes effect without a rebuild.
        std::fs::write(
            local.join("my-devcopy/greet/__init__.py"),
            "def main():\n    print('edited')\n",
        )
        .unwrap();
        assert_eq!(
            run_ok(&instance.join("bin/greet"), &[]),
            "edited",
            "{installer}"
        );

        let lock = env.current_lock("x");
        let greet = lock["overrides"]["greet"].as_table().unwrap();
        assert_eq!(greet["dir"].as_str(), Some("my-devcopy"));
        assert_eq!(
            greet["matched-by"].as_str(),
            Some("python project name greet")
        );
        assert!(lock["overrides"].get("colorlib").is_none());
        let status = stdout_of(&env.run(&["status", "x"]).success());
        assert!(status.contains("local/my-devcopy"), "{status}");
        assert!(status.contains("pinned: 1.0"), "{status}");
        let json = env.run(&["status", "x", "--json"]).success();
        let value: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
        assert_eq!(value["overrides"]["lonely"]["dir"], "lonely-work");
    }
}

#[test]
fn setup_cfg_metadata_is_recognised() {
    let index = PackageIndex::start();
    let env = Env::new();
    let manifest = env.manifest_repo(&python_manifest(&index), None);
    env.install_from("x", &manifest).success();
    python_project(
        &env.instance_dir("x").join("local/whatever"),
        "lonely",
        "setup.cfg",
        "lonely, cfg edition",
    );
    env.run(&["rebuild", "x"]).success();
    assert_eq!(
        run_ok(&env.instance_dir("x").join("bin/lonely"), &[]),
        "lonely, cfg edition"
    );
}

#[test]
fn git_checkouts_match_by_origin_and_overrides_follow_upgrade_and_rebuild() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "VERSION", &[("v1", "1\n")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    let instance = env.instance_dir("x");

    let clone = instance.join("local/hacking-on-it");
    tool.clone_to_via_file_url(&clone);
    std::fs::write(clone.join("VERSION"), "dev\n").unwrap();
    std::fs::create_dir(instance.join("local/stray")).unwrap();

    env.run(&["plan", "x"])
        .success()
        .stdout(predicate::str::contains("~ tool: v1 ("))
        .stdout(predicate::str::contains("local/hacking-on-it"));
    // Only the overrides changed: upgrade makes a new release.
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("release 0002-r1"))
        .stderr(predicate::str::contains("local/stray matches no component"));
    assert_eq!(
        std::fs::read_to_string(instance.join("code/current/src/tool/VERSION")).unwrap(),
        "dev\n"
    );
    let lock = env.current_lock("x");
    let found = lock["overrides"]["tool"].as_table().unwrap();
    assert!(found["matched-by"]
        .as_str()
        .unwrap()
        .starts_with("git origin"));
    assert_eq!(found["head"].as_str(), Some(tool.head().as_str()));
    assert_eq!(found["dirty"].as_bool(), Some(true));
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("up to date"));
    assert!(clone.join(".git").is_dir(), "local/ is never touched");

    // The old habit: cd code/current; ./bin/rebuild
    let rebuild = Command::new("./bin/rebuild")
        .current_dir(instance.join("code/current"))
        .output()
        .unwrap();
    assert!(
        rebuild.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuild.stderr)
    );
    assert_eq!(env.current("x"), "0003-r1");

    // Removing the override and rebuilding brings the pinned tree back.
    std::fs::remove_dir_all(&clone).unwrap();
    env.run(&["rebuild", "x"]).success();
    assert_eq!(env.current("x"), "0004-r1");
    let src = instance.join("code/current/src/tool");
    assert!(!src.is_symlink());
    assert_eq!(std::fs::read_to_string(src.join("VERSION")).unwrap(), "1\n");
}

#[test]
fn two_directories_claiming_one_component_is_an_error() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "VERSION", &[("v1", "1\n")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    let local = env.instance_dir("x").join("local");
    for name in ["a", "b"] {
        tool.clone_to(&local.join(name));
    }
    let assert = env.run(&["rebuild", "x"]).code(2);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("local/a and local/b both claim component tool"),
        "{stderr}"
    );
    assert_eq!(env.code_entries("x"), ["0001-r1", "current"]);
    env.run(&["upgrade", "x"]).code(2);
}

#[test]
fn local_overrides_can_be_turned_off() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "VERSION", &[("v1", "1\n")]);
    let text = format!(
        "[manifest]\nlocal-overrides = false\n{}",
        git_component("tool", &tool, "v1")
    );
    let manifest = env.manifest_repo(&text, None);
    env.install_from("x", &manifest).success();
    std::fs::create_dir(env.instance_dir("x").join("local/tool")).unwrap();
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("up to date"))
        .stderr(predicate::str::contains("local-overrides = false"));
}

#[test]
fn develop_links_and_undevelop_unlinks_without_touching_the_checkout() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "VERSION", &[("v1", "1\n")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    env.install_from("x", &manifest).success();
    let checkout = env.path("elsewhere/my-tool");
    std::fs::create_dir_all(checkout.parent().unwrap()).unwrap();
    tool.clone_to(&checkout);
    std::fs::write(checkout.join("VERSION"), "mine\n").unwrap();

    env.run(&["develop", "x", checkout.to_str().unwrap()])
        .success()
        .stdout(predicate::str::contains("release 0002-r1"));
    let link = env.instance_dir("x").join("local/tool");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        checkout.canonicalize().unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(env.instance_dir("x").join("code/current/src/tool/VERSION"))
            .unwrap(),
        "mine\n"
    );
    env.run(&["develop", "x", checkout.to_str().unwrap()])
        .code(2)
        .stderr(predicate::str::contains("already linked"));
    env.run(&["develop", "x", env.path("nothing-here").to_str().unwrap()])
        .code(2);

    env.run(&["undevelop", "x", "tool"])
        .success()
        .stdout(predicate::str::contains("release 0003-r1"));
    assert!(!link.exists() && !link.is_symlink());
    assert_eq!(
        std::fs::read_to_string(checkout.join("VERSION")).unwrap(),
        "mine\n",
        "checkout untouched"
    );
    assert_eq!(
        std::fs::read_to_string(env.instance_dir("x").join("code/current/src/tool/VERSION"))
            .unwrap(),
        "1\n"
    );
    env.run(&["undevelop", "x", "tool"])
        .code(2)
        .stderr(predicate::str::contains("not overridden"));

    // A real directory in local/ is the developer's: never removed.
    std::fs::create_dir(&link).unwrap();
    env.run(&["undevelop", "x", "tool"])
        .code(2)
        .stderr(predicate::str::contains("never deletes a checkout"));
    assert!(link.is_dir());
}

#[test]
fn failed_rebuild_leaves_current_unchanged() {
    let index = PackageIndex::start();
    let env = Env::new();
    let manifest = env.manifest_repo(&python_manifest(&index), Some("v1"));
    env.install_from("x", &manifest).success();
    let broken = env.instance_dir("x").join("local/broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("setup.py"),
        "name='greet'\nraise SystemExit('this checkout does not build')\n",
    )
    .unwrap();
    let assert = env.run(&["rebuild", "x"]).code(1);
    assert!(
        stderr_of(&assert).contains("python environment"),
        "{}",
        stderr_of(&assert)
    );
    assert_eq!(env.code_entries("x"), ["0001-v1", "current"]);
    assert_eq!(
        run_ok(&env.instance_dir("x").join("bin/greet"), &[]),
        "greet from greet 1.0"
    );
}
