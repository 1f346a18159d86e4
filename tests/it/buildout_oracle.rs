//! The `*.cfg` reader against zc.buildout itself, one hand-written case per
//! documented behaviour: both must accept with the same effective
//! configuration or both refuse (ours naming the file and line), except for
//! the two documented deviations. Every accepted case also survives the
//! round trip through a native manifest.

use crate::support::oracle::{self, agree, Case};

/// `[buildout]` with one zc.recipe.egg part; `extra` goes into `[buildout]`.
fn base(extra: &str, sections: &str) -> String {
    format!("[buildout]\nparts = s\n{extra}\n[s]\nrecipe = zc.recipe.egg\n{sections}")
}

/// `(name, case, None: accepted | Some("file:line"): refused, our error
/// pointing there)`
fn cases() -> Vec<(&'static str, Case, Option<&'static str>)> {
    let one = |cfg: &str| Case::new("buildout.cfg", &[("buildout.cfg", cfg)]);
    let many = |files: &[(&str, &str)]| Case::new("buildout.cfg", files);
    vec![
        // Merging.
        ("= after += in one file", many(&[
            ("base.cfg", &base("", "eggs = a\n")),
            ("buildout.cfg", "[buildout]\nextends = base.cfg\n[s]\neggs += b\neggs = c\neggs -= c\n[s]\neggs += d\n"),
        ]), None),
        ("a section repeated apart", many(&[
            ("base.cfg", &base("", "eggs = a\n")),
            ("buildout.cfg", "[buildout]\nextends = base.cfg\n[s]\neggs += b\n[versions]\nb = 1\n[s]\neggs += c\n"),
        ]), None),
        ("macro with += where the section first appears", one(
            "[buildout]\nparts = s t\n[m]\nrecipe = zc.recipe.egg\neggs = a\n  b\n[s]\n<= m\neggs += c\n[t]\n<= m\neggs -= a\n")
        , None),
        ("macro section extended again by a child", many(&[
            ("base.cfg", "[buildout]\nparts = s\n[m]\nrecipe = zc.recipe.egg\neggs = a\n[s]\n<= m\neggs += b\n"),
            ("buildout.cfg", "[buildout]\nextends = base.cfg\n[s]\neggs += c\n"),
        ]), None),
        ("multi-line <=", one(
            "[buildout]\nparts = s\n[m1]\nrecipe = zc.recipe.egg\neggs = a\n[m2]\neggs = b\nx = 1\n[s]\n<=\n  m1\n  m2\ny = ${:x}\n")
        , None),
        ("<= in [buildout] is an option", one(
            "[buildout]\n<= other\nparts += s\n[other]\nparts = t\n[s]\nrecipe = zc.recipe.egg\n")
        , None),
        ("-= compares exact lines", many(&[
            ("base.cfg", &base("", "eggs =\n    a\n      b\n    c\n")),
            ("buildout.cfg", "[buildout]\nextends = base.cfg\n[s]\neggs -=\n    a\n    b\n"),
        ]), None),
        ("a diamond of extends applies the shared base twice", many(&[
            ("d.cfg", &base("", "eggs = a\n")),
            ("b.cfg", "[buildout]\nextends = d.cfg\n[s]\neggs += b\n"),
            ("c.cfg", "[buildout]\nextends = d.cfg\n[s]\neggs += c\n"),
            ("buildout.cfg", "[buildout]\nextends = b.cfg c.cfg\n"),
        ]), None),
        ("+= and -= of a new section", one(
            "[buildout]\nparts += s\nparts -= t\n[s]\nrecipe = zc.recipe.egg\neggs -= x\neggs += a\n")
        , None),
        // Parsing.
        ("header comments", one("[buildout] # main\nparts = s\n[s] ; the part\nrecipe = zc.recipe.egg\neggs = a # a comment for pkg_resources\n  b #c\n"), None),
        ("a comment as an egg line", one(&base("", "eggs = a\n  #b\n")), Some("buildout.cfg:6")),
        ("option name with a space", one(&base("my option = 1", "")), Some("buildout.cfg:3")),
        ("section name with a space", one(&base("", "[my section]\nx = 1\n")), Some("buildout.cfg:6")),
        ("+ = with a space", one(&base("", "eggs + = b\n")), Some("buildout.cfg:6")),
        ("an option without a name", one(&base("= b", "")), Some("buildout.cfg:3")),
        ("key: value", one(&base("", "eggs: x\n")), Some("buildout.cfg:6")),
        ("an unindented continuation", one("[buildout]\nparts =\ns\n[s]\nrecipe = zc.recipe.egg\n"), Some("buildout.cfg:3")),
        ("an option before any section", one("parts = s\n[buildout]\n"), Some("buildout.cfg:1")),
        ("blank lines and comments inside values", one(&base("", "eggs =\n\n    a\n# between\n\n    b\n   \n")), None),
        // Substitution.
        ("${buildout:directory} is absolute", one(&base("find-links = ${buildout:directory}/dist\ndevelop = ${buildout:directory}/local/*", "eggs = a\n")), None),
        ("built-in defaults", one(&base("find-links = ${buildout:bin-directory} ${buildout:develop-eggs-directory}\nindex = ${buildout:eggs-directory}${buildout:find-links}", "eggs = ${buildout:versions}\n  ${:_buildout_section_name_}\n  x${buildout:socket-timeout}\n")), None),
        ("unterminated ${ and $$", one(&base("", "eggs = a\ninitialization = ${x\n  $${s:eggs} $$\n")), None),
        ("options a recipe computes", one(
            "[buildout]\nparts = s\n[instance]\nrecipe = lava-manifest:instance_path\n[s]\nrecipe = zc.recipe.egg\neggs = a\ninitialization = ${instance:instance-path}/x\n")
        , None),
        ("undefined section", one(&base("", "eggs =\n    ${nope:eggs}\n")), Some("buildout.cfg:6")),
        ("undefined option", one(&base("", "eggs = ${buildout:nope}\n")), Some("buildout.cfg:6")),
        ("circular substitution", one(&base("", "eggs = ${:more}\nmore = ${:eggs}\n")), Some("buildout.cfg:6")),
        ("reference without a colon", one(&base("", "eggs = ${eggs}\n")), Some("buildout.cfg:6")),
        ("reference with two colons", one(&base("", "eggs = ${a:b:c}\n")), Some("buildout.cfg:6")),
        ("an ignored option is still substituted", one(&base("", "eggs = a\ncommand = ${nope:x}\n")), Some("buildout.cfg:7")),
        // Versions.
        ("names equal after normalization: later wins", many(&[
            ("base.cfg", &base("", "eggs = Foo.Bar\n  baz\n[versions]\nfoo-bar = 1.0\nBAZ = 3\n")),
            ("buildout.cfg", "[buildout]\nextends = base.cfg\n[versions]\nFoo_Bar = 2.0\nbaz = 4\n"),
        ]), None),
        ("an empty pin is unpinned", one(&base("", "eggs = a\n[versions]\na =\n")), None),
        ("a range is not a pin", one(&base("", "eggs = a\n[versions]\na = >=1.0\n")), None),
        ("versions names a missing section", one(&base("versions = nosuch", "eggs = a\n")), Some("buildout.cfg:3")),
        ("versions in another section", one(&base("versions = pins", "eggs = a\n[pins]\na = 1.0\n[versions]\na = 2.0\n")), None),
        ("no versions section at all", one(&base("versions =", "eggs = a\n[versions]\na = 2.0\n")), None),
        ("a pin that is not a version", one(&base("", "eggs = a\n[versions]\na = latest\n")), Some("buildout.cfg:6")),
        // Eggs.
        ("inline pins, extras, markers", one(&base("", "eggs =\n  a==1.0\n  b[x, Y_z] >=2 ,<3\n  c ; python_version < \"4\"\n  d[e]==1; os_name == 'posix'\n[versions]\nb = 2.5\n")), None),
        ("an inline pin the versions section contradicts", one(&base("", "eggs = a==1.0\n[versions]\na = 2.0\n")), Some("buildout.cfg:6")),
        ("an invalid egg line", one(&base("", "eggs = a b\n")), Some("buildout.cfg:6")),
        ("zc.recipe.egg without eggs installs the part's name", one("[buildout]\nparts = lava-tool other\n[lava-tool]\nrecipe = zc.recipe.egg:scripts\n[other]\nrecipe = plone.recipe.command\n"), None),
        ("parts pulled in by reference", one(&base("", "eggs = ${h:egg}\n[h]\nrecipe = zc.recipe.egg\negg = b\n")), None),
        ("part dependencies (=>)", one(&base("", "=> dep\neggs = a\n[dep]\nrecipe = zc.recipe.egg\neggs = b\n")), None),
        ("no parts", one("[buildout]\ndevelop = .\n"), Some("buildout.cfg")),
        ("a part without a recipe", one("[buildout]\nparts = s\n[s]\neggs = a\n"), Some("buildout.cfg:3")),
        ("a part without a section", one("[buildout]\nparts = s t\n[s]\nrecipe = zc.recipe.egg\n"), Some("buildout.cfg:2")),
        ("a recipe that is not one", one("[buildout]\nparts = s\n[s]\nrecipe = a:b:c\n"), Some("buildout.cfg:4")),
        ("booleans are exactly true or false", one(&base("allow-picked-versions = no", "")), Some("buildout.cfg:3")),
        ("raw booleans", one(&base("offline = ${buildout:newest}", "")), Some("buildout.cfg:3")),
        // Develop and extends.
        ("local overrides, however spelled", one(&base("develop = ./local/* ${buildout:directory}/local/*\n  local/*", "eggs = a\n")), None),
        ("develop directories", many(&[
            ("buildout.cfg", &base("develop = . src/pkg", "eggs = lava-manifest\n  pkg\n")),
            ("setup.py", "from setuptools import setup\nsetup(name='lava-manifest')\n"),
            ("src/pkg/pyproject.toml", "[project]\nname = \"pkg\"\nversion = \"1\"\n"),
        ]), None),
        ("extends from a subdirectory", Case::new("sub/buildout.cfg", &[
            ("base.cfg", &base("", "eggs = a\n")),
            ("sub/buildout.cfg", "[buildout]\nextends = ../base.cfg\ndevelop = ../local/*\n"),
        ]), None),
        ("optional-extends", many(&[
            ("base.cfg", &base("", "eggs = a\n")),
            ("opt.cfg", "[s]\neggs += b\n"),
            ("buildout.cfg", "[buildout]\nextends = base.cfg\noptional-extends = opt.cfg missing.cfg\n"),
        ]), None),
        ("an extends cycle", many(&[
            ("a.cfg", "[buildout]\nextends = buildout.cfg\n"),
            ("buildout.cfg", "[buildout]\nextends = a.cfg\nparts =\n"),
        ]), Some("a.cfg:2")),
        ("a missing base", one("[buildout]\nextends = nope.cfg\nparts =\n"), Some("buildout.cfg:2")),
        ("git repos and heads", one(&base("", "eggs = lava-server\n[git-repos]\nlava-server = https://git.example.org/lava-server.git\nlava-tool = ${:lava-server}-tool\n[git-heads]\nlava-server = 1234abcd\n")), None),
    ]
}

/// Cases where lava-deploy documents that it differs from zc.buildout.
fn deviations() -> Vec<(&'static str, Case)> {
    vec![
        (
            "conditional sections are refused",
            Case::new(
                "buildout.cfg",
                &[(
                    "buildout.cfg",
                    &base("", "eggs = a\n[s:python3]\neggs += b\n"),
                )],
            ),
        ),
        (
            "eggs+= without a space means eggs +=",
            Case::new(
                "buildout.cfg",
                &[(
                    "buildout.cfg",
                    "[buildout]\nparts = s\n[s]\nrecipe = zc.recipe.egg\neggs+= a\n",
                )],
            ),
        ),
    ]
}

#[test]
fn hand_cases_agree_with_zc_buildout() {
    let Some(python) = oracle::python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut all = cases();
    let count = all.len();
    all.extend(deviations().into_iter().map(|(n, c)| (n, c, None)));
    let dirs: Vec<_> = (0..all.len())
        .map(|i| tmp.path().join(format!("case{i}")))
        .collect();
    let mut ours = Vec::new();
    for ((_, case, _), dir) in all.iter().zip(&dirs) {
        case.write(dir);
        ours.push(oracle::ours(dir, &case.cfg));
    }
    let asked: Vec<_> = all
        .iter()
        .zip(&dirs)
        .map(|((_, c, _), d)| (d.as_path(), c.cfg.as_str()))
        .collect();
    let theirs = oracle::Oracle::start(&python).ask(&asked);
    let mut problems = Vec::new();
    for (i, ((name, case, at), dir)) in all.iter().zip(&dirs).enumerate() {
        let (theirs, ours) = (&theirs[i], &ours[i]);
        let agreed = agree(theirs, ours);
        if i >= count {
            // A documented deviation: it must still be one.
            if agreed {
                problems.push(format!(
                    "{name}: expected to differ from zc.buildout, but agrees"
                ));
            }
            continue;
        }
        if !agreed {
            problems.push(format!(
                "{name}: disagrees\n  zc.buildout: {theirs}\n  lava-deploy: {ours}\n{}",
                case.show()
            ));
            continue;
        }
        match (ours.get("error"), at) {
            (Some(error), Some(at))
                if !error.as_str().unwrap_or("").contains(&format!("{at}:")) =>
            {
                problems.push(format!("{name}: our error does not point at {at}: {error}"));
            }
            (Some(error), None) => problems.push(format!("{name}: both refuse it: {error}")),
            (None, Some(_)) => problems.push(format!("{name}: both accept it")),
            _ => {}
        }
        if let Err(problem) = oracle::round_trip(dir, &case.cfg) {
            problems.push(format!("{name}: round trip: {problem}"));
        }
    }
    eprintln!(
        "{count} hand cases, {} documented deviations, {} problems",
        all.len() - count,
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
