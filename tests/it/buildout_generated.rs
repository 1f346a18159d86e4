//! Generated zc.buildout configurations, compared with zc.buildout itself:
//! a seeded generator combines extends chains (also from a subdirectory and
//! `optional-extends`), `=`/`+=`/`-=` in every layout, `<=` macros,
//! substitutions, versions, egg lines and develop entries, with an
//! occasional line zc.buildout refuses. Every case must agree with the
//! oracle; every accepted one must install what zc.buildout would (its
//! exact pins, egg ranges, `find-links`/`index`, also inside
//! `${buildout:directory}`: `oracle::installs_alike`) and survive the round
//! trip through a native manifest. A disagreement is minimised (lines dropped while it
//! persists) before it is reported.
//!
//! `LAVA_BUILDOUT_SEED` repeats a run; `LAVA_BUILDOUT_CASES` sets how many.

use crate::support::oracle::{self, agree, judge, minimise, Case, Oracle};

/// splitmix64: small, seeded, good enough to pick from lists.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    fn odds(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn some<'a>(&mut self, items: &[&'a str], max: usize) -> Vec<&'a str> {
        (0..1 + self.below(max)).map(|_| self.pick(items)).collect()
    }
}

const EGGS: &[&str] = &[
    "a",
    "b",
    "Foo.Bar",
    "foo_bar",
    "c==1.0",
    "d[x]",
    "d[x, Y]>=1.0",
    "e ; python_version < \"4\"",
    "f==2.0; os_name == 'posix'",
    "${h:egg}",
    "${:extra-egg}",
    "lava-server",
    "lava-manifest",
    "pkg",
    "g (>=1.0,<3)",
    "foo<2",
    "a # trailing comment",
    "${buildout:versions}",
];
/// What zc.buildout refuses, one per broken case.
const BAD: &[&str] = &[
    "my option = 1",
    "[my section]",
    "eggs + = b",
    "= b",
    "key: value",
    "  orphan",
    "eggs = g h",
    "eggs = i==",
    "eggs = j[",
    "eggs = l;",
    "x = ${nope:x}",
    "x = ${a:b:c}",
    "allow-picked-versions = no",
    "versions = nosuch",
    "recipe = a:b:c",
    "x = ${:x}",
    "offline = yes",
];
const VERSION_KEYS: &[&str] = &[
    "a",
    "A",
    "b",
    "foo-bar",
    "Foo_Bar",
    "c",
    "d",
    "e",
    "f",
    "g",
    "lava-manifest",
];
const VERSION_VALUES: &[&str] = &[
    "1.0",
    "2.0",
    "1.5",
    "",
    ">=1.0",
    "==1.5",
    "1.0.post1",
    "2.0rc1",
    "<3",
    "==1.1",
];
const RECIPES: &[&str] = &[
    "zc.recipe.egg",
    "zc.recipe.egg:scripts",
    "plone.recipe.command",
    "lava-manifest:wsgi",
];
const DEVELOP: &[&str] = &[
    "local/*",
    "./local/*",
    "${buildout:directory}/local/*",
    ".",
    "src/pkg",
    "src/*",
];

/// One option in one of zc.buildout's layouts.
fn option(rng: &mut Rng, key: &str, op: &str, values: &[&str]) -> String {
    let indent = rng.pick(&["    ", "  ", "\t", "      "]);
    match (values, rng.below(4)) {
        ([one], 0 | 1) => format!("{key} {op} {one}\n"),
        (values, 2) => format!(
            "{key} {op} {}\n{indent}{}\n",
            values[0],
            values[1..].join(&format!("\n{indent}"))
        ),
        (values, _) => {
            let mut text = format!("{key} {op}\n");
            for (i, value) in values.iter().enumerate() {
                if i > 0 && rng.odds(15) {
                    text.push_str(rng.pick(&["\n", "# a comment\n", "   \n"]));
                }
                // Now and then an extra indent, which `-=` compares exactly.
                let extra = if i > 0 && rng.odds(10) { "  " } else { "" };
                text.push_str(&format!("{indent}{extra}{value}\n"));
            }
            text
        }
    }
}

/// `option` with `=`, `+=` or `-=` picked at random.
fn any_op(rng: &mut Rng, key: &str, values: &[&str]) -> String {
    let op = ["=", "=", "+=", "-="][rng.below(4)];
    option(rng, key, op, values)
}

fn section(rng: &mut Rng, name: &str, is_root: bool) -> String {
    let header = if rng.odds(10) {
        format!("[{name}] # {name}\n")
    } else {
        format!("[{name}]\n")
    };
    let mut body = String::new();
    match name {
        "buildout" => {
            if is_root || rng.odds(40) {
                let parts = rng.some(&["s1", "s2", "s3"], 3);
                body += &if is_root {
                    option(rng, "parts", "=", &parts)
                } else {
                    any_op(rng, "parts", &parts)
                };
            }
            if rng.odds(30) {
                let develop = rng.some(DEVELOP, 2);
                body += &any_op(rng, "develop", &develop);
            }
            if rng.odds(15) {
                body += &format!(
                    "versions = {}\n",
                    rng.pick(&["versions", "pins", "pins", ""])
                );
            }
            if rng.odds(25) {
                body += &format!("allow-picked-versions = {}\n", rng.pick(&["true", "false"]));
            }
            if rng.odds(15) {
                let links = rng.some(
                    &[
                        "https://example.org/links",
                        "${buildout:directory}/dist",
                        "${h:x}",
                    ],
                    2,
                );
                body += &any_op(rng, "find-links", &links);
            }
            if rng.odds(10) {
                body += &format!(
                    "index = {}\n",
                    rng.pick(&[
                        "https://pypi.example.org/simple",
                        "${buildout:directory}/simple"
                    ])
                );
            }
            if rng.odds(5) {
                body += "<= h\n";
            }
        }
        "versions" | "pins" => {
            for _ in 0..1 + rng.below(4) {
                let (key, value) = (rng.pick(VERSION_KEYS), rng.pick(VERSION_VALUES));
                body += &format!("{key} = {value}\n");
            }
        }
        "git-repos" => {
            for repo in rng.some(&["lava-server", "lava-tool", "lava-dispatcher"], 2) {
                body += &format!("{repo} = https://git.example.org/{repo}.git\n");
            }
        }
        "git-heads" => {
            for repo in rng.some(&["lava-server", "lava-tool"], 2) {
                body += &format!(
                    "{repo} = {}\n",
                    rng.pick(&["1234abcd", "2012.07", "", "${buildout:versions}"])
                );
            }
        }
        "h" => {
            body += &format!(
                "egg = {}\nx = {}\n",
                rng.pick(&["b", "c==1.0", "Foo.Bar"]),
                rng.pick(&["1", "${buildout:directory}", "${x"])
            );
            if rng.odds(40) {
                body += &format!("recipe = {}\n", rng.pick(RECIPES));
            }
        }
        "instance" => body += "recipe = lava-manifest:instance_path\n",
        _ => {
            if name != "m" && rng.odds(25) {
                body += &format!("<= {}\n", rng.pick(&["m", "m", "m\n  h"]));
            }
            if is_root || rng.odds(30) {
                body += &format!("recipe = {}\n", rng.pick(RECIPES));
            }
            if rng.odds(85) {
                let eggs = rng.some(EGGS, 4);
                body += &any_op(rng, "eggs", &eggs);
            }
            if rng.odds(20) {
                let more = rng.some(EGGS, 2);
                body += &any_op(rng, "eggs", &more);
            }
            if rng.odds(70) {
                body += "extra-egg = b\n";
            }
            if rng.odds(25) {
                body += rng.pick(&[
                    "initialization = ${instance:instance-path}\n",
                    "initialization = ${:_buildout_section_name_} $$ ${x\n",
                    "command = ${h:x}\n",
                    "=> h\n",
                ]);
            }
        }
    }
    header + &body
}

fn file(rng: &mut Rng, is_root: bool, extends: &[&str]) -> String {
    let mut text = String::new();
    let mut buildout = section(rng, "buildout", is_root);
    if !extends.is_empty() {
        buildout += &format!("extends = {}\n", extends.join(" "));
    }
    if is_root && rng.odds(10) {
        buildout += "optional-extends = opt.cfg missing.cfg\n";
    }
    text += &buildout;
    let names = [
        "s1",
        "s2",
        "s3",
        "m",
        "h",
        "versions",
        "pins",
        "git-repos",
        "git-heads",
        "instance",
    ];
    let mut chosen: Vec<&str> = if is_root { names.to_vec() } else { Vec::new() };
    for _ in 0..rng.below(5) {
        // A name may come twice, apart: zc.buildout merges both.
        chosen.insert(rng.below(chosen.len() + 1), rng.pick(&names));
    }
    for name in chosen {
        let complete = is_root && rng.odds(97);
        text += &section(rng, name, complete);
    }
    text
}

fn generate(rng: &mut Rng) -> Case {
    let mut files = vec![
        (
            "setup.py".to_owned(),
            "from setuptools import setup\nsetup(name='lava-manifest')\n".to_owned(),
        ),
        (
            "src/pkg/setup.py".to_owned(),
            "from setuptools import setup\nsetup(name='pkg')\n".to_owned(),
        ),
    ];
    let in_sub = rng.odds(20);
    let up = if in_sub { "../" } else { "" };
    let mut extends = Vec::new();
    if rng.odds(60) {
        let common = rng.odds(40);
        let base_extends: Vec<&str> = if common {
            vec!["cfg/common.cfg"]
        } else {
            vec![]
        };
        files.push(("base.cfg".into(), file(rng, false, &base_extends)));
        if common {
            files.push(("cfg/common.cfg".into(), file(rng, false, &[])));
        }
        extends.push(format!("{up}base.cfg"));
    }
    if rng.odds(30) {
        let pins = section(rng, "versions", false);
        let pins = pins.split_once('\n').unwrap().1;
        // Sometimes a diamond: both bases extend the same file.
        let shared = files.iter().any(|(p, _)| p == "cfg/common.cfg") && rng.odds(50);
        let header = if shared {
            "[buildout]\nextends = cfg/common.cfg\n"
        } else {
            ""
        };
        files.push(("versions.cfg".into(), format!("{header}[versions]\n{pins}")));
        extends.push(format!("{up}versions.cfg"));
    }
    if rng.odds(10) {
        files.push(("opt.cfg".into(), file(rng, false, &[])));
    }
    let extends: Vec<&str> = extends.iter().map(String::as_str).collect();
    let cfg = if in_sub {
        "sub/buildout.cfg"
    } else {
        "buildout.cfg"
    };
    files.push((cfg.into(), file(rng, true, &extends)));
    if rng.odds(8) {
        // Broken: one line zc.buildout refuses, after some header.
        let candidates: Vec<usize> = (0..files.len())
            .filter(|&i| files[i].0.ends_with(".cfg"))
            .collect();
        let (_, text) = &mut files[candidates[rng.below(candidates.len())]];
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let headers: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with('['))
            .collect();
        let at = headers[rng.below(headers.len())] + 1;
        lines.insert(at, rng.pick(BAD).to_owned());
        *text = lines.join("\n") + "\n";
    }
    Case {
        files,
        cfg: cfg.into(),
    }
}

#[test]
fn generated_configurations_agree_with_zc_buildout() {
    let Some(python) = oracle::python() else {
        return;
    };
    let seed = std::env::var("LAVA_BUILDOUT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        });
    let count = std::env::var("LAVA_BUILDOUT_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    eprintln!("generated zc.buildout cases: LAVA_BUILDOUT_SEED={seed} LAVA_BUILDOUT_CASES={count}");
    let mut rng = Rng(seed);
    let cases: Vec<Case> = (0..count).map(|_| generate(&mut rng)).collect();
    let tmp = tempfile::tempdir().unwrap();
    let mut oracle = Oracle::start(&python);
    let answers = judge(&mut oracle, tmp.path(), &cases);
    let (mut accepted, mut refused, mut mapped, mut problems) = (0, 0, 0, Vec::new());
    let mut installs_differently = 0;
    for (i, (case, (theirs, ours))) in cases.iter().zip(&answers).enumerate() {
        if !agree(theirs, ours) {
            if problems.is_empty() {
                let small = minimise(&mut oracle, tmp.path(), case.clone());
                let answer = &judge(
                    &mut oracle,
                    &tmp.path().join("shown"),
                    std::slice::from_ref(&small),
                )[0];
                problems.push(format!(
                    "case {i} disagrees; minimised:\n{}\n  zc.buildout: {}\n  lava-deploy: {}",
                    small.show(),
                    answer.0,
                    answer.1
                ));
            } else {
                problems.push(format!("case {i} disagrees"));
            }
            continue;
        }
        if ours.get("error").is_some() {
            refused += 1;
            continue;
        }
        accepted += 1;
        let case_dir = tmp.path().join(format!("c{i}"));
        if let Err(problem) = oracle::installs_alike(theirs, &case_dir, &case.cfg) {
            installs_differently += 1;
            if installs_differently <= 3 {
                problems.push(format!(
                    "case {i} installs differently: {problem}\n{}",
                    case.show()
                ));
            }
        }
        match oracle::round_trip(&case_dir, &case.cfg) {
            Ok(Some(_)) => mapped += 1,
            Ok(None) => {}
            Err(problem) => {
                problems.push(format!("case {i}: round trip: {problem}\n{}", case.show()))
            }
        }
    }
    eprintln!(
        "{count} generated cases: {accepted} accepted and {refused} refused by both; \
         {installs_differently} of the accepted would install differently; \
         {mapped} mapped to manifests that survive the round trip; {} problems",
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "seed {seed}:\n{}",
        problems.join("\n\n")
    );
}
