use predicates::prelude::*;

use crate::support::{stderr_of, stdout_of, Env};

#[test]
fn extends_merges_replaces_and_removes_by_name() {
    let env = Env::new();
    let manifest = env.git_repo("manifest");
    manifest
        .write(
            "base.toml",
            "[manifest]\ndescription = \"base\"\n[python]\ninterpreter = \"python3\"\n\
             [components.a]\npython = \"1.0\"\n[components.b]\npython = \"2.0\"\n[components.c]\npython = \"3.0\"\n",
        )
        .write(
            "sub/mid.toml",
            "[manifest]\nextends = \"../base.toml\"\n[components.b]\npython = \"2.1\"\nhashes = []\n",
        )
        .write(
            "lava.toml",
            "[manifest]\nextends = [\"sub/mid.toml\"]\ndescription = \"top\"\n[components.c]\nremove = true\n\
             [components.d]\npython = \"4.0\"\n",
        );
    manifest.commit("m");
    let assert = env
        .run(&["manifest", "show", "--manifest-branch", &manifest.url()])
        .success();
    let shown = stdout_of(&assert);
    let doc: toml::Table = toml::from_str(&shown).unwrap();
    assert_eq!(doc["manifest"]["description"].as_str(), Some("top"));
    assert_eq!(doc["python"]["interpreter"].as_str(), Some("python3"));
    let components = doc["components"].as_table().unwrap();
    let names: Vec<&str> = components.keys().map(String::as_str).collect();
    assert_eq!(names, ["a", "b", "d"]);
    assert_eq!(components["b"]["python"].as_str(), Some("2.1"));
    assert!(
        shown.contains("base.toml, sub/mid.toml, lava.toml"),
        "{shown}"
    );

    let json = env
        .run(&[
            "manifest",
            "show",
            "--json",
            "--manifest-branch",
            &manifest.url(),
        ])
        .success();
    let value: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(value["components"]["a"]["source"]["version"], "1.0");
}

#[test]
fn builtin_manifests_show_without_a_branch() {
    let env = Env::new();
    let assert = env.run(&["manifest", "show"]).success();
    let shown = stdout_of(&assert);
    assert!(shown.contains("[components.lavacli]"), "{shown}");
    let production = env
        .run(&["manifest", "show", "--cfg", "lava-production.toml"])
        .success();
    let doc: toml::Table = toml::from_str(&stdout_of(&production)).unwrap();
    assert_eq!(doc["manifest"]["allow-unpinned"].as_bool(), Some(false));
    // Production pins the client itself; the base lets it float.
    assert_ne!(
        doc["components"]["lavacli"]["python"].as_str(),
        Some("latest")
    );
    assert!(doc["components"].as_table().unwrap().len() > 3);
}

#[test]
fn extends_cycles_and_missing_parents_name_the_chain() {
    let env = Env::new();
    let manifest = env.git_repo("manifest");
    manifest
        .write("lava.toml", "[manifest]\nextends = \"a.toml\"\n")
        .write("a.toml", "[manifest]\nextends = \"b.toml\"\n")
        .write("b.toml", "[manifest]\nextends = \"lava.toml\"\n")
        .write(
            "orphan.toml",
            "[manifest]\nextends = [\"a-missing.toml\"]\n",
        );
    manifest.commit("m");
    env.run(&["manifest", "show", "--manifest-branch", &manifest.url()])
        .code(2)
        .stderr(predicate::str::contains(
            "extends cycle: lava.toml -> a.toml -> b.toml -> lava.toml",
        ))
        .stderr(predicate::str::contains("b.toml:2"));
    env.run(&[
        "manifest",
        "show",
        "--manifest-branch",
        &manifest.url(),
        "--cfg",
        "orphan.toml",
    ])
    .code(2)
    .stderr(predicate::str::contains("orphan.toml:2"))
    .stderr(predicate::str::contains("a-missing.toml"))
    .stderr(predicate::str::contains("does not exist"));
}

#[test]
fn every_problem_is_reported_at_once_with_file_and_line() {
    let env = Env::new();
    let manifest = env.git_repo("manifest");
    manifest.write(
        "lava.toml",
        r#"[manifest]
description = "broken"

[components.both]
git = "/srv/x"
url = "https://example.org/x.tar.gz"

[components.none]
rev = "v1"

[components.badsha]
url = "https://example.org/x.tar.gz"
sha256 = "abc"

[components.badtype]
url = "https://example.org/x.rar"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"

[components.badpy]
python = ">=three"

[components."bad/name"]
python = "1.0"

[components.nodir]
path = "missing"
"#,
    );
    manifest.commit("m");
    let assert = env.install_from("x", &manifest).code(2);
    let stderr = stderr_of(&assert);
    for expected in [
        "lava.toml:4: component both: has git and url set",
        "lava.toml:8: component none: needs exactly one of git, url, path or python",
        "rev only applies to git components",
        "lava.toml:11: component badsha: sha256 = \"abc\" is not 64 hexadecimal digits",
        "lava.toml:15: component badtype",
        ".tar.gz",
        "lava.toml:19: component badpy: python = \">=three\" is not an exact version",
        "component bad/name: the name must be",
        "component nodir: path = \"missing\" is not a directory",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(!env.instance_dir("x").exists());
}

#[test]
fn syntax_errors_and_unknown_keys_give_the_line() {
    let env = Env::new();
    let manifest = env.git_repo("manifest");
    manifest
        .write(
            "lava.toml",
            "[manifest]\ndescription = \"x\"\n\n[components.a]\npython = \n",
        )
        .write(
            "typo.toml",
            "[manifest]\n\n[components.a]\npyhton = \"1.0\"\n",
        );
    manifest.commit("m");
    env.run(&["manifest", "show", "--manifest-branch", &manifest.url()])
        .code(2)
        .stderr(predicate::str::contains("lava.toml:5"));
    env.run(&[
        "manifest",
        "show",
        "--manifest-branch",
        &manifest.url(),
        "--cfg",
        "typo.toml",
    ])
    .code(2)
    .stderr(predicate::str::contains("typo.toml:4"))
    .stderr(predicate::str::contains("pyhton"));
}

#[test]
fn unpinned_components_are_listed_together() {
    let env = Env::new();
    let tool = env.git_repo("tool");
    tool.write("f", "1");
    tool.commit("one");
    tool.branch("stable");
    let manifest = env.git_repo("manifest");
    let text = format!(
        "[components.floating]\ngit = \"{0}\"\n\
         [components.unhashed]\nurl = \"https://example.org/t.tar.gz\"\n\
         [components.newest]\npython = \"latest\"\n",
        tool.url()
    );
    manifest.write("lava.toml", &text).write(
        "branch.toml",
        &format!(
            "[components.onbranch]\ngit = \"{}\"\nrev = \"stable\"\n",
            tool.url()
        ),
    );
    manifest.commit("m");
    let assert = env.install_from("x", &manifest).code(2);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("3 problems"), "{stderr}");
    for name in ["floating", "unhashed", "newest"] {
        assert!(
            stderr.contains(&format!("component {name} is not pinned")),
            "{stderr}"
        );
    }
    assert!(stderr.contains("allow-unpinned = true"), "{stderr}");
    // A branch is only known to be one after fetching; still a manifest error.
    env.run(&[
        "install",
        "x",
        "--manifest-branch",
        &manifest.url(),
        "--cfg",
        "branch.toml",
    ])
    .code(2)
    .stderr(predicate::str::contains(
        "branch.toml:1: component onbranch is not pinned: it is at a branch",
    ));
    assert!(!env.instance_dir("x").exists());
}

#[test]
fn buildout_cfg_is_the_fallback_file() {
    let env = Env::new();
    let manifest = env.git_repo("manifest");
    manifest.write(
        "buildout.cfg",
        "[buildout]\nparts = a\n[a]\nrecipe = zc.recipe.egg\neggs = pkg\n[versions]\npkg = 1.0\n",
    );
    manifest.commit("m");
    env.run(&["manifest", "show", "--manifest-branch", &manifest.url()])
        .success()
        .stdout(predicate::str::contains("effective manifest buildout.cfg"))
        .stdout(predicate::str::contains("[components.pkg]"));
}
