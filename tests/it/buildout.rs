//! zc.buildout configurations: a lava-manifest-shaped branch deployed as is.

use crate::support::index::{PackageIndex, WheelSpec};
use crate::support::{run_ok, stderr_of, stdout_of, Env, GitRepo};

/// A python project with a console script, as a git repo with two commits.
fn app_repo(env: &Env) -> (GitRepo, String) {
    let app = env.git_repo("lab-app");
    app.write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\
         [project]\nname = \"lab-app\"\nversion = \"0.1\"\ndependencies = [\"colorlib\"]\n\
         [project.scripts]\nlab-app = \"lab_app:main\"\n",
    )
    .write("lab_app/__init__.py", "def main():\n    print('lab-app 0.1')\n");
    let first = app.commit("0.1");
    app.write(
        "lab_app/__init__.py",
        "def main():\n    print('lab-app tip')\n",
    );
    app.commit("tip");
    (app, first)
}

/// buildout.cfg + versions.cfg + buildout-production.cfg + buildout-development.cfg.
fn buildout_branch(env: &Env, index: &PackageIndex, app: &GitRepo, pinned_head: &str) -> GitRepo {
    let repo = env.git_repo("lava-manifest");
    repo.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nextends = versions.cfg\nversions = versions\ndevelop = . local/*\nparts =\n    server\n    python\n\
             extensions = mr.developer\nindex = ${{urls:index}}/simple\n\n\
             [urls]\nindex = {}\n\n\
             [server]\nrecipe = zc.recipe.egg\neggs =\n    greet\n    lab-app\n    lava-manifest\n\
             initialization =\n    import os\n    os.environ['LAVA_HOME'] = '${{instance:instance-path}}'\n\n\
             [python]\nrecipe = zc.recipe.egg\ninterpreter = python\neggs = ${{server:eggs}}\n\n\
             [instance]\nrecipe = lava-manifest:instance_path\n\n\
             [git-repos]\nlab-app = {}\n\n[branches]\nlab-app = trunk\n",
            index.server.base,
            app.url()
        ),
    )
    .write("versions.cfg", "[versions]\n# dependencies\ncolorlib = 1.0\ngreet = 1.0\n")
    // `develop = .`: the branch is itself a python project (the recipes).
    .write(
        "setup.py",
        "from setuptools import setup\nsetup(name='lava-manifest', version='1.0', py_modules=['lava_recipes'])\n",
    )
    .write("lava_recipes.py", "RECIPES = 'lava-manifest recipes'\n")
    .write(
        "buildout-production.cfg",
        &format!(
            "[buildout]\nextends = buildout.cfg\nallow-picked-versions = false\n\n\
             [server]\neggs +=\n    lonely\n\n[versions]\nlonely = 1.0\n\n[git-heads]\nlab-app = {}\n",
            &pinned_head[..8]
        ),
    )
    .write("buildout-development.cfg", "[buildout]\nextends = buildout-production.cfg\n[server]\neggs -= lonely\n");
    repo.commit("manifests");
    repo.tag("2012.07");
    repo
}

#[test]
fn buildout_branches_deploy_with_each_cfg() {
    let index = PackageIndex::start();
    let env = Env::new();
    let (app, first) = app_repo(&env);
    let branch = buildout_branch(&env, &index, &app, &first);

    // No lava.toml: buildout.cfg is the default.
    let assert = env.install_from("base", &branch).success();
    let stderr = stderr_of(&assert);
    for ignored in [
        "part server (recipe zc.recipe.egg)",
        "part python",
        "extensions = mr.developer",
        "[branches]",
    ] {
        assert!(stderr.contains(ignored), "{ignored} not in: {stderr}");
    }
    assert!(
        !stderr.contains("develop = ."),
        "develop = . is installed: {stderr}"
    );
    let base = env.instance_dir("base");
    let run =
        |instance: &std::path::Path, script: &str| run_ok(&instance.join("bin").join(script), &[]);
    assert_eq!(
        run(&base, "lab-app"),
        "lab-app tip",
        "no git-heads: the default branch"
    );
    assert_eq!(run(&base, "greet"), "greet from greet 1.0");
    let recipes = run_ok(
        &base.join("bin/python"),
        &["-c", "import lava_recipes; print(lava_recipes.RECIPES)"],
    );
    assert_eq!(recipes, "lava-manifest recipes", "develop = . is installed");
    let lock = env.current_lock("base");
    assert_eq!(
        lock["components"]["lava-manifest"]["path"].as_str(),
        Some(".")
    );
    assert_eq!(lock["manifest"]["file"].as_str(), Some("buildout.cfg"));
    assert_eq!(lock["manifest"]["local-overrides"].as_bool(), Some(true));
    assert_eq!(
        lock["python"]["constraints"]["colorlib"].as_str(),
        Some("1.0")
    );
    assert!(
        lock["environment"]["packages"]["colorlib"]
            .get("picked")
            .is_none(),
        "pinned by [versions]"
    );

    env.cmd()
        .env("LAVA_BUILDOUT_CFG", "buildout-production.cfg")
        .args(["install", "production", "--manifest-branch", &branch.url()])
        .assert()
        .success();
    let production = env.instance_dir("production");
    assert_eq!(
        run(&production, "lab-app"),
        "lab-app 0.1",
        "pinned by a short [git-heads] commit"
    );
    assert_eq!(
        run(&production, "lonely"),
        "lonely from lonely 1.0",
        "eggs += lonely"
    );
    let lock = env.current_lock("production");
    assert_eq!(
        lock["components"]["lab-app"]["commit"].as_str(),
        Some(first.as_str())
    );
    assert_eq!(
        lock["components"]["lab-app"]["rev"].as_str(),
        Some(first.as_str()),
        "short commit recorded in full"
    );

    let shown = stdout_of(
        &env.run(&[
            "manifest",
            "show",
            "--manifest-branch",
            &branch.url(),
            "--cfg",
            "buildout-development.cfg",
        ])
        .success(),
    );
    let doc: toml::Table = toml::from_str(&shown).unwrap();
    assert!(
        doc["components"].get("lonely").is_none(),
        "eggs -= lonely: {shown}"
    );
    assert!(doc["components"].get("greet").is_some());
    assert_eq!(doc["manifest"]["allow-unpinned"].as_bool(), Some(false));

    // convert: the native TOML installs to the same pins.
    let converted = stdout_of(
        &env.run(&[
            "manifest",
            "convert",
            branch
                .path
                .join("buildout-production.cfg")
                .to_str()
                .unwrap(),
        ])
        .success(),
    );
    branch.write("lava-production.toml", &converted);
    branch.commit("converted");
    env.run(&[
        "install",
        "converted",
        "--manifest-branch",
        &branch.url(),
        "--cfg",
        "lava-production.toml",
    ])
    .success();
    let from_toml = env.current_lock("converted");
    // `develop = .` is the whole branch, which now has one more file.
    let without_tree = |lock: &toml::Table| {
        let mut components = lock["components"].as_table().unwrap().clone();
        let manifest = components["lava-manifest"].as_table_mut().unwrap();
        assert_eq!(manifest["path"].as_str(), Some("."));
        manifest.remove("tree");
        components
    };
    assert_eq!(without_tree(&from_toml), without_tree(&lock), "{converted}");
    assert_eq!(from_toml["python"], lock["python"], "{converted}");
    assert_eq!(
        from_toml["environment"]["packages"]
            .as_table()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        lock["environment"]["packages"]
            .as_table()
            .unwrap()
            .keys()
            .collect::<Vec<_>>()
    );
}

fn cfg_branch(env: &Env, files: &[(&str, &str)]) -> GitRepo {
    let repo = env.git_repo("cfgs");
    for (name, text) in files {
        repo.write(name, text);
    }
    repo.commit("cfgs");
    repo
}

fn show_fails(env: &Env, repo: &GitRepo, cfg: &str) -> String {
    let assert = env
        .run(&[
            "manifest",
            "show",
            "--manifest-branch",
            &repo.url(),
            "--cfg",
            cfg,
        ])
        .code(2);
    stderr_of(&assert)
}

#[test]
fn configuration_errors_name_file_section_option_and_line() {
    let env = Env::new();
    let repo = cfg_branch(
        &env,
        &[
            ("undefined.cfg", "[buildout]\nparts = server\n\n[server]\neggs =\n    ${nope:eggs}\n"),
            ("undefined-option.cfg", "[buildout]\nparts = server\n[server]\neggs = ${buildout:nope}\n"),
            ("circular.cfg", "[buildout]\nparts = server\n[server]\neggs = ${:more}\nmore = ${:eggs}\n"),
            ("cycle-a.cfg", "[buildout]\nextends = cycle-b.cfg\n"),
            ("cycle-b.cfg", "[buildout]\nextends = cycle-a.cfg\n"),
            ("conflict.cfg", "[buildout]\nparts =\n[versions]\nlab-app = 1.0\n[git-repos]\nlab-app = /srv/git/lab-app\n"),
            ("picked.cfg", "[buildout]\nparts = server\nallow-picked-versions = false\n[server]\nrecipe = zc.recipe.egg\neggs =\n    pinned\n    floating\n    other\n[versions]\npinned = 1.0\n"),
            ("syntax.cfg", "[buildout]\nparts = server\nthis line is wrong\n[server]\neggs: x\n"),
            ("missing-part.cfg", "[buildout]\nparts = server ghost\n[server]\nrecipe = zc.recipe.egg\neggs = x\n"),
            ("bool.cfg", "[buildout]\nallow-picked-versions = no\n"),
        ],
    );
    let stderr = show_fails(&env, &repo, "undefined.cfg");
    assert!(
        stderr.contains("undefined.cfg:5: [server] eggs: ${nope:eggs} refers to section [nope]"),
        "{stderr}"
    );
    let stderr = show_fails(&env, &repo, "undefined-option.cfg");
    assert!(stderr.contains("[buildout] does not define"), "{stderr}");
    let stderr = show_fails(&env, &repo, "circular.cfg");
    assert!(
        stderr.contains(
            "circular reference in substitutions: server:eggs -> server:more -> server:eggs"
        ),
        "{stderr}"
    );
    let stderr = show_fails(&env, &repo, "cycle-a.cfg");
    assert!(
        stderr.contains("extends cycle: cycle-a.cfg -> cycle-b.cfg -> cycle-a.cfg"),
        "{stderr}"
    );
    let stderr = show_fails(&env, &repo, "conflict.cfg");
    assert!(
        stderr
            .contains("conflict.cfg:6: lab-app is both in [git-repos] and in the versions section"),
        "{stderr}"
    );
    let stderr = show_fails(&env, &repo, "picked.cfg");
    assert!(
        stderr.contains("egg floating has no pin") && stderr.contains("egg other has no pin"),
        "{stderr}"
    );
    assert!(!stderr.contains("egg pinned"), "{stderr}");
    let stderr = show_fails(&env, &repo, "syntax.cfg");
    assert!(
        stderr.contains("syntax.cfg:3: zc.buildout cannot parse the line \"this line is wrong\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("syntax.cfg:5: zc.buildout cannot parse the line \"eggs: x\": options are written `key = value`"),
        "{stderr}"
    );
    let stderr = show_fails(&env, &repo, "missing-part.cfg");
    assert!(
        stderr.contains("parts names ghost, but there is no [ghost] section"),
        "{stderr}"
    );
    let stderr = show_fails(&env, &repo, "bool.cfg");
    assert!(stderr.contains("accepts exactly true or false"), "{stderr}");
}

#[test]
fn macros_and_substitution_chains() {
    let env = Env::new();
    let repo = cfg_branch(
        &env,
        &[(
            "buildout.cfg",
            "[buildout]\nparts = server worker\nversions = pins\n\n\
             [common]\nrecipe = zc.recipe.egg\neggs =\n    base-egg\n    ${names:extra}\n\n[names]\nextra = ${names:deeper}\ndeeper = extra-egg\n\n\
             [server]\n<= common\nrecipe = zc.recipe.egg\n\n[worker]\n<= common\neggs += worker-egg\n\n\
             [pins]\nbase-egg = 1.0\nExtra_Egg = 2.0\nworker-egg = 3.0\n",
        )],
    );
    let shown = stdout_of(
        &env.run(&["manifest", "show", "--manifest-branch", &repo.url()])
            .success(),
    );
    let doc: toml::Table = toml::from_str(&shown).unwrap();
    let components = doc["components"].as_table().unwrap();
    assert_eq!(components["base-egg"]["python"].as_str(), Some("1.0"));
    assert_eq!(
        components["extra-egg"]["python"].as_str(),
        Some("2.0"),
        "keys compare normalized"
    );
    assert_eq!(components["worker-egg"]["python"].as_str(), Some("3.0"));
    env.run(&[
        "manifest",
        "convert",
        env.path("nope.cfg").to_str().unwrap(),
    ])
    .code(2);
}

#[test]
fn convert_reads_extends_outside_the_directory_and_loads_back() {
    let env = Env::new();
    let write = |path: &str, text: &str| {
        let path = env.path(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let absolute = env.path("elsewhere/pins.cfg");
    write(
        "shared/versions.cfg",
        "[versions]\ncolorlib = 1.0\ngreet = 2.0\n",
    );
    write("elsewhere/pins.cfg", "[versions]\ngreet = 3.0\n");
    write(
        "site/buildout.cfg",
        &format!(
            "[buildout]\nextends = ../shared/versions.cfg {}\nparts = server\nallow-picked-versions = false\n\
             [server]\nrecipe = zc.recipe.egg\neggs = greet\n",
            absolute.display()
        ),
    );
    let converted = stdout_of(
        &env.run(&[
            "manifest",
            "convert",
            env.path("site/buildout.cfg").to_str().unwrap(),
        ])
        .success(),
    );
    let doc: toml::Table = toml::from_str(&converted).unwrap();
    assert_eq!(
        doc["components"]["greet"]["python"].as_str(),
        Some("3.0"),
        "{converted}"
    );
    assert_eq!(
        doc["python"]["constraints"]["colorlib"].as_str(),
        Some("1.0"),
        "{converted}"
    );
    // What convert prints is a manifest lava-deploy reads.
    let repo = cfg_branch(&env, &[("lava.toml", &converted)]);
    let shown = stdout_of(
        &env.run(&["manifest", "show", "--manifest-branch", &repo.url()])
            .success(),
    );
    assert!(shown.contains("[python.constraints]"), "{shown}");
    // In a manifest branch, files outside it are not read.
    let outside = env.git_repo("outside");
    outside.write(
        "buildout.cfg",
        "[buildout]\nextends = ../shared/versions.cfg\nparts =\n",
    );
    outside.commit("outside");
    let stderr = show_fails(&env, &outside, "buildout.cfg");
    assert!(
        stderr.contains(
            "buildout.cfg:2: extends ../shared/versions.cfg: it points outside the manifest branch"
        ),
        "{stderr}"
    );
}

#[test]
fn egg_extras_and_markers_reach_the_installer() {
    let index = PackageIndex::start();
    index.publish(&WheelSpec {
        name: "painter",
        version: "1.0",
        deps: &["colorlib; extra == \"color\""],
        scripts: &["painter"],
    });
    for installer in ["pip", "uv"] {
        let env = Env::new();
        let repo = cfg_branch(
            &env,
            &[(
                "buildout.cfg",
                &format!(
                    "[buildout]\nparts = app\nallow-picked-versions = false\nindex = {}\n\
                     [app]\nrecipe = zc.recipe.egg\neggs =\n    painter[color]\n    \
                     lonely ; python_version < \"3\"\n\
                     [versions]\npainter = 1.0\ncolorlib = 1.0\nlonely = 1.0\n",
                    index.url()
                ),
            )],
        );
        env.cmd()
            .env("LAVA_PYTHON_INSTALLER", installer)
            .args(["install", "x", "--manifest-branch", &repo.url()])
            .assert()
            .success();
        let lock = env.current_lock("x");
        let painter = &lock["components"]["painter"];
        assert_eq!(
            painter["extras"].as_array().unwrap()[0].as_str(),
            Some("color")
        );
        let packages = lock["environment"]["packages"].as_table().unwrap();
        assert!(
            packages.contains_key("colorlib"),
            "{installer}: the extra's dependency"
        );
        assert!(
            !packages.contains_key("lonely"),
            "{installer}: its marker is false"
        );
        assert_eq!(
            lock["components"]["lonely"]["marker"].as_str(),
            Some("python_version < \"3\"")
        );
    }
}

/// zc.buildout's `find-links = ${buildout:directory}/dist` is read from the
/// manifest branch (exported for the installer, as `path` components are),
/// `eggs = ranged<2` without a pin lets the installer pick within the range,
/// and a `[versions]` pin written `==1.0` is an exact pin.
fn branch_find_links_egg_ranges_and_eq_pins(installer: &str) {
    let index = PackageIndex::start();
    for version in ["1.0", "1.5", "2.0"] {
        index.publish(&WheelSpec {
            name: "ranged",
            version,
            deps: &[],
            scripts: &[],
        });
    }
    let env = Env::new();
    let repo = env.git_repo("cfgs");
    let dist = repo.path.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    for version in ["1.0", "2.0"] {
        crate::support::index::build_wheel(
            &dist,
            &WheelSpec {
                name: "branchonly",
                version,
                deps: &["colorlib"],
                scripts: &["branchonly"],
            },
        );
    }
    repo.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\nfind-links = ${{buildout:directory}}/dist\n\
             [app]\nrecipe = zc.recipe.egg\neggs =\n    ranged<2\n    branchonly\n\
             [versions]\nbranchonly = ==1.0\ncolorlib = ==1.0\n",
            index.url()
        ),
    );
    repo.commit("cfgs");
    env.cmd()
        .env("LAVA_PYTHON_INSTALLER", installer)
        .args(["install", "x", "--manifest-branch", &repo.url()])
        .assert()
        .success();
    let lock = env.current_lock("x");
    assert_eq!(lock["python"]["find-links"][0].as_str(), Some("dist"));
    let ranged = &lock["components"]["ranged"];
    assert_eq!(ranged["python"].as_str(), Some("<2"), "{lock}");
    assert_eq!(ranged["version"].as_str(), Some("1.5"), "{lock}");
    assert_eq!(
        lock["components"]["branchonly"]["version"].as_str(),
        Some("1.0"),
        "==1.0 pins it: {lock}"
    );
    assert_eq!(
        lock["python"]["constraints"]["colorlib"].as_str(),
        Some("1.0"),
        "a constraint, not dropped: {lock}"
    );
    let bin = env.instance_dir("x").join("bin");
    assert_eq!(
        run_ok(&bin.join("branchonly"), &[]),
        "branchonly from branchonly 1.0"
    );
    let release = env.instance_dir("x").join("code/current");
    assert!(
        !release.join(".lava-branch-links").exists(),
        "the exported links are not left in the release"
    );
}

#[test]
fn branch_find_links_egg_ranges_and_eq_pins_uv() {
    branch_find_links_egg_ranges_and_eq_pins("uv");
}

#[test]
fn branch_find_links_egg_ranges_and_eq_pins_pip() {
    branch_find_links_egg_ranges_and_eq_pins("pip");
}
