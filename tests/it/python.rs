//! Python environments against a real package index on 127.0.0.1, with
//! both installers.

use predicates::prelude::*;

use crate::support::index::{PackageIndex, WheelSpec};
use crate::support::{run_ok, stderr_of, stdout_of, Env, GitRepo};

const INSTALLERS: [&str; 2] = ["pip", "uv"];

/// A native manifest using `index` with `components` appended.
fn manifest(index: &PackageIndex, allow_unpinned: bool, components: &str) -> String {
    format!(
        "[manifest]\nallow-unpinned = {allow_unpinned}\n[python]\nindex-url = \"{}\"\n{components}",
        index.url()
    )
}

const GREET_PINNED: &str =
    "[components.greet]\npython = \"1.0\"\n[components.colorlib]\npython = \"1.0\"\n";

fn install_with(env: &Env, installer: &str, repo: &GitRepo) -> assert_cmd::assert::Assert {
    with_installer(
        env,
        installer,
        &["install", "x", "--manifest-branch", &repo.url()],
    )
}

fn with_installer(env: &Env, installer: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    env.cmd()
        .env("LAVA_PYTHON_INSTALLER", installer)
        .args(args)
        .assert()
}

#[test]
fn exact_pins_give_runnable_console_scripts_with_both_installers() {
    let index = PackageIndex::start();
    for installer in INSTALLERS {
        let env = Env::new();
        let repo = env.manifest_repo(&manifest(&index, false, GREET_PINNED), Some("v1"));
        install_with(&env, installer, &repo).success();
        let instance = env.instance_dir("x");
        // Through the instance-level bin link, as an operator would run it.
        assert_eq!(
            run_ok(&instance.join("bin/greet"), &[]),
            "greet from greet 1.0",
            "{installer}"
        );
        assert_eq!(
            run_ok(&instance.join("bin/greet-admin"), &[]),
            "greet-admin from greet 1.0"
        );
        let version = run_ok(
            &instance.join("bin/python"),
            &["-c", "import colorlib; print(colorlib.VERSION)"],
        );
        assert_eq!(version, "1.0");
        // Scripts point at the final environment, never the staging name.
        let script = std::fs::read_to_string(instance.join("code/current/env/bin/greet")).unwrap();
        assert!(
            script.contains("/code/0001-v1/env/bin/python"),
            "{installer}: {script}"
        );
        assert!(!script.contains(".tmp-"), "{installer}: {script}");

        let lock = env.current_lock("x");
        let environment = lock["environment"].as_table().unwrap();
        assert_eq!(environment["installer"].as_str(), Some(installer));
        let greet = environment["packages"]["greet"].as_table().unwrap();
        assert_eq!(greet["version"].as_str(), Some("1.0"));
        let sha = index.sha256_of("greet", "1.0");
        let recorded: Vec<String> = greet
            .get("sha256")
            .into_iter()
            .chain(
                greet
                    .get("hashes")
                    .and_then(|h| h.as_array())
                    .into_iter()
                    .flatten(),
            )
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert!(
            recorded.contains(&sha),
            "{installer}: {recorded:?} lacks {sha}"
        );
        assert!(environment["packages"].get("colorlib").is_some());
        assert!(
            environment["packages"].get("pip").is_none(),
            "the venv's own tools are not listed"
        );

        // Nothing changed: upgrade is a no-op and keeps the env.
        with_installer(&env, installer, &["upgrade", "x"])
            .success()
            .stdout(predicate::str::contains("up to date"));
        // The installer's cache lives under the root. (pip caches only
        // HTTPS indexes, so only uv's fills up against this one.)
        let cache = env.root.join("cache").join(format!("{installer}-v1"));
        assert!(cache.is_dir(), "{}", cache.display());
        if installer == "uv" {
            assert!(
                !crate::support::list_dir(&cache).is_empty(),
                "{}",
                cache.display()
            );
            // A fully pinned set is resolved once; a second instance reuses it.
            let resolutions = env.root.join("cache/resolutions-v1");
            assert_eq!(crate::support::list_dir(&resolutions).len(), 1);
            with_installer(
                &env,
                installer,
                &["install", "y", "--manifest-branch", &repo.url()],
            )
            .success();
            let greet = env.instance_dir("y").join("bin/greet");
            assert_eq!(run_ok(&greet, &[]), "greet from greet 1.0");
            assert_eq!(crate::support::list_dir(&resolutions).len(), 1);
        }
    }
}

#[test]
fn picked_versions_are_errors_unless_unpinned_is_allowed() {
    let index = PackageIndex::start();
    for installer in INSTALLERS {
        let env = Env::new();
        let repo = env.manifest_repo(
            &manifest(&index, false, "[components.greet]\npython = \"1.0\"\n"),
            None,
        );
        let assert = install_with(&env, installer, &repo).code(2);
        let stderr = stderr_of(&assert);
        assert!(stderr.contains("picked versions"), "{installer}: {stderr}");
        assert!(stderr.contains("colorlib==1.0"), "{installer}: {stderr}");
        assert!(!env.instance_dir("x").exists());

        repo.write(
            "lava.toml",
            &manifest(&index, true, "[components.greet]\npython = \"1.0\"\n"),
        );
        repo.commit("allow");
        install_with(&env, installer, &repo)
            .success()
            .stderr(predicate::str::contains(
                "picked versions (not pinned by the manifest): colorlib==1.0",
            ));
        let lock = env.current_lock("x");
        assert_eq!(
            lock["environment"]["packages"]["colorlib"]["picked"].as_bool(),
            Some(true)
        );
        // A resolution with picks is never reused: it may change.
        assert!(crate::support::list_dir(&env.root.join("cache/resolutions-v1")).is_empty());
    }
}

#[test]
fn latest_is_resolved_recorded_and_upgraded() {
    let index = PackageIndex::start();
    let env = Env::new();
    let repo = env.manifest_repo(
        &manifest(&index, true, "[components.lonely]\npython = \"latest\"\n"),
        None,
    );
    env.install_from("x", &repo).success();
    let lock = env.current_lock("x");
    assert_eq!(
        lock["components"]["lonely"]["python"].as_str(),
        Some("latest")
    );
    assert_eq!(
        lock["components"]["lonely"]["version"].as_str(),
        Some("1.0")
    );
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("up to date"));

    index.publish(&WheelSpec {
        name: "lonely",
        version: "1.1",
        deps: &[],
        scripts: &["lonely"],
    });
    env.run(&["plan", "x"])
        .success()
        .stdout(predicate::str::contains(
            "~ lonely: 1.0 (latest) -> 1.1 (latest)",
        ));
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("release 0002-"));
    let bin = env.instance_dir("x").join("bin/lonely");
    assert_eq!(run_ok(&bin, &[]), "lonely from lonely 1.1");
    // The previous release's environment is untouched.
    let old = env
        .instance_dir("x")
        .join("code")
        .join(&crate::support::list_dir(&env.instance_dir("x").join("code"))[0]);
    assert_eq!(
        run_ok(&old.join("bin/lonely"), &[]),
        "lonely from lonely 1.0"
    );
}

#[test]
fn failed_env_builds_name_the_package_and_keep_the_old_env() {
    let index = PackageIndex::start();
    for installer in INSTALLERS {
        let env = Env::new();
        let repo = env.manifest_repo(&manifest(&index, false, GREET_PINNED), Some("v1"));
        install_with(&env, installer, &repo).success();
        let greet = env.instance_dir("x").join("bin/greet");

        let wrong_hash = format!("sha256:{}", "0".repeat(64));
        let cases = [
            (
                "[components.greet]\npython = \"9.9\"\n[components.colorlib]\npython = \"1.0\"\n"
                    .to_owned(),
                "greet",
            ),
            (
                format!("[components.lonely]\npython = \"1.0\"\nhashes = [\"{wrong_hash}\"]\n"),
                "lonely",
            ),
            (
                "[python]\ninterpreter = \"python-nope\"\n[components.lonely]\npython = \"1.0\"\n"
                    .to_owned(),
                "python-nope",
            ),
        ];
        for (components, named) in cases {
            let text = if components.starts_with("[python]") {
                format!("[manifest]\n{components}")
            } else {
                manifest(&index, false, &components)
            };
            repo.write("lava.toml", &text);
            repo.commit("broken");
            let assert = with_installer(&env, installer, &["upgrade", "x"]).code(1);
            let stderr = stderr_of(&assert);
            assert!(
                stderr.contains(named),
                "{installer}: {named} not named in: {stderr}"
            );
            assert_eq!(env.current("x"), "0001-v1");
            assert_eq!(env.code_entries("x"), ["0001-v1", "current"], "{installer}");
            assert_eq!(run_ok(&greet, &[]), "greet from greet 1.0");
        }

        // The right hash passes.
        let good = format!("sha256:{}", index.sha256_of("lonely", "1.0"));
        repo.write(
            "lava.toml",
            &manifest(
                &index,
                false,
                &format!("[components.lonely]\npython = \"1.0\"\nhashes = [\"{good}\"]\n"),
            ),
        );
        repo.commit("good hash");
        with_installer(&env, installer, &["upgrade", "x"]).success();
        assert_eq!(
            run_ok(&env.instance_dir("x").join("bin/lonely"), &[]),
            "lonely from lonely 1.0"
        );
    }
}

#[test]
fn source_trees_are_built_and_installed_offline() {
    let index = PackageIndex::start();
    for installer in INSTALLERS {
        let env = Env::new();
        let app = env.git_repo("app");
        app.write(
            "pyproject.toml",
            "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [project]\nname = \"lab-app\"\nversion = \"0.5\"\ndependencies = [\"colorlib\"]\n\
             [project.scripts]\nlab-app = \"lab_app:main\"\n",
        )
        .write("lab_app/__init__.py", "def main():\n    print('lab-app here')\n");
        app.commit("app");
        app.tag("0.5");
        let components = format!(
            "[components.lab-app]\ngit = \"{}\"\nrev = \"0.5\"\ninstall = \"python\"\n[components.colorlib]\npython = \"1.0\"\n",
            app.url()
        );
        let repo = env.manifest_repo(&manifest(&index, false, &components), None);
        install_with(&env, installer, &repo).success();
        assert_eq!(
            run_ok(&env.instance_dir("x").join("bin/lab-app"), &[]),
            "lab-app here",
            "{installer}"
        );
        let lock = env.current_lock("x");
        let app_lock = &lock["environment"]["packages"]["lab-app"];
        assert_eq!(app_lock["version"].as_str(), Some("0.5"));
        assert_eq!(app_lock["source-tree"].as_bool(), Some(true));
    }
}

#[test]
fn status_lists_python_pins() {
    let index = PackageIndex::start();
    let env = Env::new();
    let repo = env.manifest_repo(&manifest(&index, false, GREET_PINNED), Some("v1"));
    env.install_from("x", &repo).success();
    let out = stdout_of(&env.run(&["status", "x"]).success());
    assert!(
        out.contains("greet") && out.contains("python") && out.contains("1.0"),
        "{out}"
    );
}

/// The main job of the README, against the public package index.
#[test]
#[ignore = "needs the public Python package index"]
fn builtin_manifest_installs_lavacli() {
    let env = Env::new();
    env.run(&["install", "testinstance"]).success();
    let help = run_ok(
        &env.instance_dir("testinstance").join("bin/lavacli"),
        &["--help"],
    );
    assert!(help.contains("usage: lavacli"), "{help}");
    env.cmd()
        .env("LAVA_BUILDOUT_CFG", "lava-production.toml")
        .args(["install", "production"])
        .assert()
        .success();
}

/// `pyproject.toml` of a project whose version comes from git through
/// setuptools-scm, as LAVA's does.
fn scm_pyproject(name: &str) -> String {
    format!(
        "[build-system]\nrequires = [\"setuptools>=64\", \"setuptools-scm>=8\"]\n\
         build-backend = \"setuptools.build_meta\"\n\n\
         [project]\nname = \"{name}\"\ndynamic = [\"version\"]\n\n\
         [tool.setuptools]\npackages = [\"lab_scm\"]\n\n\
         [tool.setuptools_scm]\n"
    )
}

/// `Version:` of the distribution `name` installed in the current release
/// of instance `x`, read from its dist-info METADATA.
fn installed_version(env: &crate::support::Env, name: &str) -> String {
    let lib = env.instance_dir("x").join("code/current/env/lib");
    let python = &crate::support::list_dir(&lib)[0];
    let site = lib.join(python).join("site-packages");
    let wanted = name.to_ascii_lowercase().replace(['-', '.'], "_");
    let dist_info = crate::support::list_dir(&site)
        .into_iter()
        .find(|entry| {
            entry.ends_with(".dist-info")
                && entry.to_ascii_lowercase().split_once('-').map(|(n, _)| n)
                    == Some(wanted.as_str())
        })
        .unwrap_or_else(|| panic!("no dist-info of {name} in {}", site.display()));
    let metadata = std::fs::read_to_string(site.join(dist_info).join("METADATA")).unwrap();
    metadata
        .lines()
        .find_map(|l| l.strip_prefix("Version: "))
        .unwrap()
        .to_owned()
}

#[test]
fn setuptools_scm_trees_get_the_version_of_their_pin() {
    let index = PackageIndex::start_with_setuptools_scm();
    for installer in INSTALLERS {
        let env = Env::new();
        let app = env.git_repo("app");
        app.write("pyproject.toml", &scm_pyproject("Lab_Scm.Tool"))
            .write("lab_scm/__init__.py", "");
        app.commit("app");
        app.tag("1.2.0");
        let component = |rev: &str, extra: &str| {
            format!(
                "[components.lab-scm]\ngit = \"{}\"\nrev = \"{rev}\"\ninstall = \"python\"\n{extra}",
                app.url()
            )
        };
        // At the tag: the tag.
        let repo = env.manifest_repo(&manifest(&index, false, &component("1.2.0", "")), None);
        install_with(&env, installer, &repo).success();
        assert_eq!(
            installed_version(&env, "Lab_Scm.Tool"),
            "1.2.0",
            "{installer}"
        );
        let lock = env.current_lock("x");
        assert_eq!(
            lock["components"]["lab-scm"]["version"].as_str(),
            Some("1.2.0")
        );

        // Two commits past the tag: a post-release of it, with the commit.
        app.write("lab_scm/more.py", "").commit("more");
        let head = app.write("lab_scm/most.py", "").commit("most");
        repo.write("lava.toml", &manifest(&index, false, &component(&head, "")));
        repo.commit("past the tag");
        with_installer(&env, installer, &["upgrade", "x"]).success();
        let expected = format!("1.2.0.post2+g{}", &head[..7]);
        assert_eq!(
            installed_version(&env, "Lab_Scm.Tool"),
            expected,
            "{installer}"
        );
        let lock = env.current_lock("x");
        assert_eq!(
            lock["components"]["lab-scm"]["version"].as_str(),
            Some(expected.as_str())
        );

        // The manifest's version wins, and a change of it alone is a change.
        repo.write(
            "lava.toml",
            &manifest(&index, false, &component(&head, "version = \"3.4.5\"\n")),
        );
        repo.commit("explicit version");
        with_installer(&env, installer, &["plan", "x"])
            .success()
            .stdout(predicate::str::contains("version 3.4.5"));
        with_installer(&env, installer, &["upgrade", "x"]).success();
        assert_eq!(
            installed_version(&env, "Lab_Scm.Tool"),
            "3.4.5",
            "{installer}"
        );

        // A rebuild takes the version from the lock (the same code for
        // both installers: one is enough).
        if installer == "uv" {
            with_installer(&env, installer, &["rebuild", "x"]).success();
            assert_eq!(installed_version(&env, "Lab_Scm.Tool"), "3.4.5");
        }
    }
}

#[test]
fn trees_pinned_past_their_tag_over_the_network_get_the_tag_s_version() {
    // A network remote is mirrored shallow (the branch tip only), which
    // holds no tag to describe the tip from: the history is fetched once.
    let index = PackageIndex::start_with_setuptools_scm();
    let env = Env::new();
    let srv = env.path("srv");
    let app = GitRepo::init(&srv.join("app"));
    app.write("pyproject.toml", &scm_pyproject("lab-scm"))
        .write("lab_scm/__init__.py", "");
    app.commit("app");
    app.tag("1.2.0");
    app.write("lab_scm/more.py", "").commit("more");
    let head = app.write("lab_scm/most.py", "").commit("most");
    let daemon = crate::support::serve::GitDaemon::start(&srv);
    let component = format!(
        "[components.lab-scm]\ngit = \"{}\"\nrev = \"main\"\ninstall = \"python\"\n",
        daemon.url("app")
    );
    let repo = env.manifest_repo(&manifest(&index, true, &component), None);
    let installed = install_with(&env, "uv", &repo).success();
    assert!(
        stderr_of(&installed).contains("fetching the whole history once"),
        "{}",
        stderr_of(&installed)
    );
    let expected = format!("1.2.0.post2+g{}", &head[..7]);
    assert_eq!(installed_version(&env, "lab-scm"), expected);
    assert_eq!(
        env.current_lock("x")["components"]["lab-scm"]["version"].as_str(),
        Some(expected.as_str())
    );

    // The mirror stays whole: the next tip is described from the tag
    // without fetching the history again.
    let newer = app.write("lab_scm/last.py", "").commit("last");
    let upgraded = with_installer(&env, "uv", &["upgrade", "x"]).success();
    assert!(
        !stderr_of(&upgraded).contains("whole history"),
        "{}",
        stderr_of(&upgraded)
    );
    let expected = format!("1.2.0.post3+g{}", &newer[..7]);
    assert_eq!(installed_version(&env, "lab-scm"), expected);

    // A tag made since is seen: the mirror keeps every tag.
    app.write("lab_scm/release.py", "").commit("release");
    app.tag("1.3.0");
    let past = app.write("lab_scm/after.py", "").commit("after");
    with_installer(&env, "uv", &["upgrade", "x"]).success();
    let expected = format!("1.3.0.post1+g{}", &past[..7]);
    assert_eq!(installed_version(&env, "lab-scm"), expected);
}

#[test]
fn trees_without_history_need_a_version_to_build() {
    let index = PackageIndex::start_with_setuptools_scm();
    for installer in INSTALLERS {
        let env = Env::new();
        let tree = "[components.lab-scm]\npath = \"lab-scm\"\ninstall = \"python\"\n";
        let repo = env.manifest_repo(&manifest(&index, false, tree), None);
        repo.write("lab-scm/pyproject.toml", &scm_pyproject("lab-scm"))
            .write("lab-scm/lab_scm/__init__.py", "");
        repo.commit("tree");
        // A directory of the branch has no history of its own: without a
        // version its build fails, and says what it lacked.
        let assert = install_with(&env, installer, &repo).code(1);
        let stderr = stderr_of(&assert);
        assert!(
            stderr.contains("SETUPTOOLS_SCM_PRETEND_VERSION"),
            "{installer}: {stderr}"
        );
        repo.write(
            "lava.toml",
            &manifest(&index, false, &format!("{tree}version = \"0.9\"\n")),
        );
        repo.commit("with a version");
        install_with(&env, installer, &repo).success();
        assert_eq!(installed_version(&env, "lab-scm"), "0.9", "{installer}");
        let lock = env.current_lock("x");
        assert_eq!(
            lock["components"]["lab-scm"]["version"].as_str(),
            Some("0.9")
        );
    }
}

#[test]
fn extras_install_what_they_pull_in_with_both_installers() {
    let index = PackageIndex::start();
    for installer in INSTALLERS {
        let env = Env::new();
        let app = env.git_repo("app");
        // The component is named differently from the project it holds.
        app.write(
            "pyproject.toml",
            "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [project]\nname = \"Lab.Extras\"\nversion = \"0.5\"\n\
             [project.optional-dependencies]\nextra1 = [\"colorlib\"]\n\
             [tool.setuptools]\npackages = [\"lab_extras\"]\n",
        )
        .write("lab_extras/__init__.py", "");
        app.commit("app");
        app.tag("0.5");
        let components = |extras: &str| {
            format!(
                "[python.constraints]\ncolorlib = \"1.0\"\n\
                 [components.labx]\ngit = \"{}\"\nrev = \"0.5\"\ninstall = \"python\"\n{extras}",
                app.url()
            )
        };
        let repo = env.manifest_repo(&manifest(&index, false, &components("")), None);
        install_with(&env, installer, &repo).success();
        let lock = env.current_lock("x");
        assert!(lock["environment"]["packages"].get("colorlib").is_none());
        assert!(lock["components"]["labx"].get("extras").is_none());

        repo.write(
            "lava.toml",
            &manifest(&index, false, &components("extras = [\"extra1\"]\n")),
        );
        repo.commit("extras");
        with_installer(&env, installer, &["plan", "x"])
            .success()
            .stdout(
                predicate::str::contains("~ labx: 0.5").and(predicate::str::contains("[extra1]")),
            );
        with_installer(&env, installer, &["upgrade", "x"]).success();
        let python = env.instance_dir("x").join("bin/python");
        assert_eq!(
            run_ok(&python, &["-c", "import colorlib; print(colorlib.VERSION)"]),
            "1.0",
            "{installer}"
        );
        let lock = env.current_lock("x");
        let extras = lock["components"]["labx"]["extras"].as_array().unwrap();
        assert_eq!(extras.len(), 1);
        assert_eq!(extras[0].as_str(), Some("extra1"));
        let colorlib = &lock["environment"]["packages"]["colorlib"];
        assert_eq!(colorlib["version"].as_str(), Some("1.0"));
        assert!(
            colorlib.get("picked").is_none(),
            "{installer}: pinned by constraints"
        );
        assert_eq!(
            lock["environment"]["packages"]["lab-extras"]["source-tree"].as_bool(),
            Some(true)
        );

        // A checkout standing in for the component keeps its extras.
        let checkout = env.path("checkout");
        app.clone_to(&checkout);
        with_installer(
            &env,
            installer,
            &["develop", "x", checkout.to_str().unwrap()],
        )
        .success();
        let lock = env.current_lock("x");
        assert!(lock["overrides"].get("labx").is_some(), "{installer}");
        assert_eq!(
            lock["environment"]["packages"]["colorlib"]["version"].as_str(),
            Some("1.0"),
            "{installer}"
        );
    }
}

#[test]
fn extras_versions_and_markers_only_where_they_mean_something() {
    let env = Env::new();
    let repo = env.manifest_repo(
        "[components.plain]\ngit = \"/srv/x.git\"\nrev = \"1.0\"\n\
         extras = [\"server\"]\n\
         [components.pkg]\npython = \"1.0\"\nversion = \"1.0\"\n\
         [components.tree]\ngit = \"/srv/y.git\"\nrev = \"1.0\"\ninstall = \"python\"\n\
         extras = [\"ok\", \"not ok\"]\nversion = \"main\"\nmarker = \"os_name == 'posix'\"\n\
         [components.marked]\npython = \"1.0\"\nextras = [\"fine\"]\nmarker = \"python_version <\"\n",
        None,
    );
    let assert = env.install_from("x", &repo).code(2);
    let stderr = stderr_of(&assert);
    for expected in [
        "lava.toml:4: component plain: extras only applies to python components and to git, url and path components with install = \"python\"",
        "lava.toml:7: component pkg: version only applies",
        "lava.toml:12: component tree: extras entry \"not ok\" is not an extra name",
        "lava.toml:13: component tree: version = \"main\" is not a Python version",
        "lava.toml:14: component tree: marker only applies to python components",
        "lava.toml:18: component marked: marker = \"python_version <\" is not an environment marker",
    ] {
        assert!(stderr.contains(expected), "{expected:?} not in: {stderr}");
    }
    // A python component's extras are not an error.
    assert!(!stderr.contains("component marked: extras"), "{stderr}");
    assert!(!env.instance_dir("x").exists());
}

/// LAVA 2026.07 itself, from `../shared/fixtures`, deployed the way a lab
/// deploys it: its git repository at the tag, installed with the `server`
/// extra from the public package index. Opt-in:
/// `cargo test --test it -- --ignored lava_fixture`.
#[test]
#[ignore = "needs the public Python package index and ../shared/fixtures"]
fn lava_fixture_installs_the_server_from_its_tag() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/lava-2026.07.tar.gz");
    if !crate::support::require(
        (!fixture.is_file())
            .then(|| format!("{} is not there (LAVA's source tree)", fixture.display())),
    ) {
        return;
    }
    let env = Env::new();
    let unpacked = env.path("unpacked");
    let archive = flate2::read::GzDecoder::new(std::fs::File::open(&fixture).unwrap());
    tar::Archive::new(archive).unpack(&unpacked).unwrap();
    // A repository holding the tree at the tag, as LAVA's own has it.
    let lava = crate::support::GitRepo::init(&unpacked.join("lava-2026.07"));
    lava.commit("LAVA 2026.07");
    lava.tag("2026.07");
    let repo = env.manifest_repo(
        &format!(
            "[manifest]\nallow-unpinned = true\n\
             [components.lava]\ngit = \"{}\"\nrev = \"2026.07\"\ninstall = \"python\"\n\
             extras = [\"server\"]\n",
            lava.url()
        ),
        None,
    );
    let started = std::time::Instant::now();
    env.install_from("x", &repo).success();
    eprintln!("lava_fixture: install took {:.1?}", started.elapsed());
    let instance = env.instance_dir("x");
    assert!(instance.join("code/current/bin/lava-server").is_file());
    assert!(instance.join("code/current/bin/gunicorn").exists());
    // setuptools writes versions in PEP 440's normal form, so METADATA
    // says 2026.7 — which is 2026.07 to every installer, and what LAVA's own
    // build from its git repository writes too. At run time LAVA reports
    // the tag as spelled, from lava_common/VERSION.
    assert_eq!(installed_version(&env, "lava"), "2026.7");
    let reported = run_ok(
        &instance.join("bin/python"),
        &[
            "-c",
            "from lava_common.version import __version__; print(__version__)",
        ],
    );
    assert_eq!(reported, "2026.07");
    let lock = env.current_lock("x");
    assert_eq!(
        lock["components"]["lava"]["version"].as_str(),
        Some("2026.07")
    );
    assert_eq!(
        lock["components"]["lava"]["extras"].as_array().unwrap()[0].as_str(),
        Some("server")
    );

    let started = std::time::Instant::now();
    env.run(&["upgrade", "x"])
        .success()
        .stdout(predicate::str::contains("up to date"));
    eprintln!("lava_fixture: no-op upgrade took {:.1?}", started.elapsed());
}
