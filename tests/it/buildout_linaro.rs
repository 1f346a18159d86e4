//! Linaro's lava-manifest configurations of 2012–14, reproduced: the same
//! shape (a branch that is itself the `lava-manifest` project with the
//! recipes, `develop = . local/*`, recipe parts that refer to options their
//! recipes compute, `extensions`, `[versions]` pins, `[git-repos]` with
//! abbreviated `[git-heads]`), written for this test. `buildout-production.cfg`
//! with `allow-picked-versions = false` is the file the 2012 post tells
//! people to use; zc.buildout needs no pin for the develop egg, and neither
//! does lava-deploy.

use std::collections::BTreeMap;

use lava_deploy::core::model::ComponentSource;
use lava_deploy::readers;

use crate::support::oracle::{self, agree, Case, DiskTree, Oracle};

const BUILDOUT: &str = r#"[buildout]
unzip = true
newest = false
download-cache = download-cache
versions = versions
# The extension that checks out [git-repos] lives in this branch.
extensions = lava-buildout-git-deploy

develop = . local/*

parts =
    instance
    server
    python
    hack-py
    wsgi
    scripts
    server-symlink
    manifest

[instance]
recipe = lava-manifest:instance_path

[server]
recipe = lava-manifest:scripts
initialization = import os; os.environ["LAVA_SETTINGS_TEMPLATE"] = "${instance:settings-template}"; os.environ["VIRTUAL_ENV"] = "${instance:instance-path}";
interpreter = py
# Some dependencies are listed here because their own packages forget them.
eggs =
    django-openid-auth
    lava-manifest
    lava-server
    lava-tool
    lava-dispatcher
    lava-android-test
    psycopg2
    python-dateutil

[python]
recipe = zc.recipe.egg:scripts
initialization = ${server:initialization}
eggs = ${server:eggs}
interpreter = python

[hack-py]
recipe = plone.recipe.command
initialization = ${server:initialization} os.environ["DJANGO_SETTINGS_MODULE"] = "lava_server.settings.distro"
command = sed -i -e 's%^_interactive%${hack-py:initialization};&%' ${buildout:bin-directory}/py ${buildout:bin-directory}/python
update-command = ${hack-py:command}
stop-on-error = yes

[wsgi]
recipe = lava-manifest:wsgi
name = lava-server
settings = lava_server.settings.distro
eggs = ${server:eggs}

[scripts]
recipe = z3c.recipe.filetemplate
source-directory = buildout-templates
interpreted-options = buildout-exe=os.path.realpath(sys.argv[0])

[server-symlink]
recipe = lava-manifest:serversymlink
eggs = ${server:eggs}

[manifest]
recipe = lava-manifest:manifest
manifest-file = manifest.txt
eggs = ${server:eggs}

[versions]
# The extension's own egg, unpacked in this branch.
lava-buildout-git-deploy = 1.0

# What the buildout itself needs.
distribute = 0.6.24
plone.recipe.command = 1.1
zc.buildout = 1.5.2
zc.recipe.egg = 1.3.2
z3c.recipe.filetemplate = 2.2.0

# Dependencies of the LAVA components.
Django = 1.4.2
django-openid-auth = 0.4
django-tables2 = 0.13.0
docutils = 0.9.1
json-schema-validator = 2.3
lava-tool = 0.5
pexpect = 2.4
psycopg2 = 2.4.5
python-dateutil = 1.5
PyYAML = 3.10
simplejson = 2.4.0
South = 0.7.5

[git-repos]
lava-server = https://git.example.org/lava/lava-server.git
lava-dispatcher = https://git.example.org/lava/lava-dispatcher.git
lava-android-test = https://git.example.org/lava/lava-android-test.git
linaro-dashboard-bundle = https://git.example.org/lava/linaro-dashboard-bundle.git
"#;

const PRODUCTION: &str = r#"[buildout]
extends = buildout.cfg
allow-picked-versions = false
develop = .

[server]
eggs +=
    android-benchmark-views
    lava-raven

[scripts]
files = bin/activate bin/lava-dispatch bin/rebuildout

[versions]
# Our own components, as deployed in production.
android-benchmark-views = 0.1.7
lava-tool = 0.7
# Dependencies we control.
django-restricted-resource = 0.2.7
linaro-django-xmlrpc = 0.6
versiontools = 1.9.1

[git-repos]
lava-raven = https://git.example.org/lava/lava-raven.git

[git-heads]
lava-android-test = cd6b429
lava-dispatcher = 61c2c23
lava-raven = a3c4a28
lava-server = ca49e21
linaro-dashboard-bundle = e330108
"#;

const DEVELOPMENT: &str = r#"[buildout]
extends = buildout.cfg

[versions]
django-testscenarios = 0.7.2

[server]
eggs +=
    django-testscenarios
    mocker

[git-heads]
lava-dispatcher = bbdc136
lava-server = fe45e5a
"#;

const SETUP_PY: &str = "from setuptools import setup\n\nsetup(\n    name='lava-manifest',\n    version='1.0',\n    \
    py_modules=['lava_manifest_recipes'],\n    entry_points={'zc.buildout': [\n        \
    'instance_path = lava_manifest_recipes:InstancePath',\n        'wsgi = lava_manifest_recipes:Wsgi',\n    ]},\n)\n";

fn branch() -> Vec<(&'static str, &'static str)> {
    vec![
        ("buildout.cfg", BUILDOUT),
        ("buildout-production.cfg", PRODUCTION),
        ("buildout-development.cfg", DEVELOPMENT),
        ("setup.py", SETUP_PY),
        (
            "lava_manifest_recipes.py",
            "class InstancePath:\n    pass\n",
        ),
    ]
}

const CFGS: [&str; 3] = [
    "buildout.cfg",
    "buildout-production.cfg",
    "buildout-development.cfg",
];

#[test]
fn linaro_configurations_agree_with_zc_buildout() {
    let Some(python) = oracle::python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    Case::new("buildout.cfg", &branch()).write(tmp.path());
    let asked: Vec<_> = CFGS.iter().map(|cfg| (tmp.path(), *cfg)).collect();
    let theirs = Oracle::start(&python).ask(&asked);
    for (cfg, theirs) in CFGS.iter().zip(theirs) {
        let ours = oracle::ours(tmp.path(), cfg);
        assert!(theirs.get("error").is_none(), "{cfg}: {theirs}");
        assert!(
            agree(&theirs, &ours),
            "{cfg}:\n  zc.buildout: {theirs}\n  lava-deploy: {ours}"
        );
        let manifest = oracle::round_trip(tmp.path(), cfg).unwrap();
        assert!(manifest.is_some(), "{cfg} is accepted");
    }
}

#[test]
fn linaro_production_needs_no_pin_for_the_branch_itself() {
    let tmp = tempfile::tempdir().unwrap();
    Case::new("buildout.cfg", &branch()).write(tmp.path());
    let tree = DiskTree {
        root: tmp.path().to_owned(),
        extra: BTreeMap::new(),
    };
    let production = readers::load(&tree, "buildout-production.cfg").unwrap();
    assert!(!production.allow_unpinned);
    assert!(
        !production.local_overrides,
        "production's develop has no local/*"
    );
    let manifest = &production.components["lava-manifest"];
    assert_eq!(manifest.source, ComponentSource::Path { path: ".".into() });
    assert!(manifest.install_python);
    let server = &production.components["lava-server"];
    assert_eq!(
        server.source,
        ComponentSource::Git {
            url: "https://git.example.org/lava/lava-server.git".into(),
            rev: Some("ca49e21".into())
        }
    );
    let version = |name: &str| version_of(&production, name);
    assert_eq!(version("lava-tool"), "0.7", "production's pin wins");
    assert_eq!(version("android-benchmark-views"), "0.1.7");
    assert_eq!(
        production.python.constraints["django"], "1.4.2",
        "not an egg: a constraint"
    );
    let base = readers::load(&tree, "buildout.cfg").unwrap();
    assert!(base.local_overrides, "develop = . local/*");
    assert_eq!(version_of(&base, "lava-tool"), "0.5");
}

fn version_of(manifest: &lava_deploy::core::model::Manifest, name: &str) -> String {
    match &manifest.components[name].source {
        ComponentSource::Python { version } => version.clone(),
        other => panic!("{name}: {other:?}"),
    }
}
