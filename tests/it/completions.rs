//! Shell completions and man pages, against what `--help` says: every
//! subcommand and long flag is in each shell's static script and in the man
//! pages, and dynamic completion (`COMPLETE=SHELL lava-deploy`, as the
//! shells' scripts call it) offers the instances under the root, only those.

use std::collections::BTreeMap;

use crate::support::{git_component, stdout_of, Env};

/// Every command as its words (`[]`, `["install"]`, `["secret", "set"]`, …)
/// with the long flags its `--help` lists, read from the real binary.
fn commands_and_flags(env: &Env) -> BTreeMap<Vec<String>, Vec<String>> {
    let mut found = BTreeMap::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(words) = todo.pop() {
        let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
        args.push("--help");
        let help = stdout_of(&env.run(&args).success());
        let mut section = "";
        let mut flags = Vec::new();
        for line in help.lines() {
            if !line.starts_with(' ') {
                section = line;
                continue;
            }
            let item = line.trim_start();
            let indent = line.len() - item.len();
            if section == "Commands:" && indent == 2 {
                let sub = item.split_whitespace().next().unwrap();
                if sub != "help" {
                    let mut sub_words = words.clone();
                    sub_words.push(sub.to_owned());
                    todo.push(sub_words);
                }
            } else if section == "Options:" && indent <= 6 {
                // `-j, --jobs <N>`, `--root <DIR>`: the long flag.
                if let Some(at) = item.find("--") {
                    let flag: String = item[at..]
                        .chars()
                        .take_while(|c| *c == '-' || c.is_ascii_alphanumeric())
                        .collect();
                    flags.push(flag);
                }
            }
        }
        assert!(
            !flags.is_empty(),
            "no flags read from `{}`:\n{help}",
            args.join(" ")
        );
        found.insert(words, flags);
    }
    found
}

#[test]
fn static_scripts_and_man_pages_name_every_subcommand_and_flag() {
    let env = Env::new();
    let commands = commands_and_flags(&env);
    assert!(commands.contains_key(&vec!["secret".to_owned(), "set".to_owned()]));
    assert!(commands.len() > 20, "{commands:?}");

    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(&env.run(&["completions", shell]).success());
        for (words, flags) in &commands {
            for word in words {
                assert!(
                    script.contains(word.as_str()),
                    "{shell} script lacks {word}"
                );
            }
            for flag in flags {
                // fish names a flag without its dashes: `-l root`.
                let name = flag.trim_start_matches('-');
                let spelled = if shell == "fish" {
                    format!("-l {name}")
                } else {
                    flag.clone()
                };
                assert!(
                    script.contains(&spelled),
                    "{shell} script lacks {spelled} of `{}`",
                    words.join(" ")
                );
            }
        }
    }

    let man = env.path("man");
    env.run(&["man", man.to_str().unwrap()]).success();
    let mut pages: Vec<String> = std::fs::read_dir(&man)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut wanted: Vec<String> = commands
        .keys()
        .map(|words| {
            let mut name = vec!["lava-deploy".to_owned()];
            name.extend(words.iter().cloned());
            format!("{}.1", name.join("-"))
        })
        .collect();
    wanted.sort();
    assert_eq!(
        pages, wanted,
        "one man page per command, hidden ones left out"
    );
    for (words, flags) in &commands {
        let mut name = vec!["lava-deploy".to_owned()];
        name.extend(words.iter().cloned());
        let page = std::fs::read_to_string(man.join(format!("{}.1", name.join("-")))).unwrap();
        // roff escapes a dash as `\-`.
        let page = page.replace("\\-", "-");
        for flag in flags {
            assert!(
                page.contains(flag.as_str()),
                "man page of `{}` lacks {flag}",
                name.join(" ")
            );
        }
        if let Some(sub) = words.last() {
            let parent = &name[..name.len() - 1];
            let parent_page =
                std::fs::read_to_string(man.join(format!("{}.1", parent.join("-")))).unwrap();
            assert!(
                parent_page.contains(sub.as_str()),
                "{} does not list {sub}",
                parent.join("-")
            );
        }
    }
    assert!(
        !pages.iter().any(|p| p.contains("-man.")),
        "the generator has no page: {pages:?}"
    );
}

/// What the shell's dynamic script asks the binary for `line` (the word
/// being completed last), as bash does it: the words after `--`, the index
/// of the current one, candidates separated by the IFS it passes.
fn complete_bash(env: &Env, line: &[&str], lava_root: Option<&str>) -> Vec<String> {
    let mut cmd = env.std_cmd();
    cmd.env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (line.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(line);
    if let Some(root) = lava_root {
        cmd.env("LAVA_ROOT", root);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn dynamic_completion_offers_the_instances_under_the_root_only() {
    let env = Env::new();
    let tool = env.tagged_repo("tool", "V", &[("v1", "1")]);
    let manifest = env.manifest_repo(&git_component("tool", &tool, "v1"), Some("r1"));
    for name in ["alpha", "beta", "alps"] {
        env.install_from(name, &manifest).success();
    }
    // Not instances: a directory without its record, a file.
    std::fs::create_dir_all(env.instance_dir("junk")).unwrap();
    std::fs::write(env.root.join("instances/notes.txt"), "x").unwrap();
    let root = env.root.to_str().unwrap();
    let root_flag = format!("--root={root}");

    let names = |line: &[&str], lava_root| {
        let mut names = complete_bash(&env, line, lava_root);
        names.sort();
        names
    };
    let all = ["alpha", "alps", "beta"];
    assert_eq!(
        names(&["lava-deploy", "--root", root, "upgrade", ""], None),
        all
    );
    assert_eq!(
        names(&["lava-deploy", "status", &root_flag, "al"], None),
        ["alpha", "alps"]
    );
    assert_eq!(
        names(&["lava-deploy", "rollback", "b"], Some(root)),
        ["beta"]
    );
    assert_eq!(
        names(&["lava-deploy", "secret", "set", ""], Some(root)),
        all
    );
    // `--root` before LAVA_ROOT, as the command itself decides.
    let other = env.path("other-root");
    std::fs::create_dir_all(other.join("instances/gamma")).unwrap();
    assert!(names(
        &[
            "lava-deploy",
            "--root",
            other.to_str().unwrap(),
            "upgrade",
            ""
        ],
        Some(root)
    )
    .is_empty());
    // `install` names a new instance: nothing to offer.
    assert!(names(&["lava-deploy", "install", ""], Some(root)).is_empty());
    // The subcommands themselves, with the hidden generator left out.
    let subs = names(&["lava-deploy", ""], None);
    assert!(
        subs.contains(&"completions".to_owned()) && subs.contains(&"upgrade".to_owned()),
        "{subs:?}"
    );
    assert!(!subs.contains(&"man".to_owned()), "{subs:?}");

    // Each shell's registration calls this binary back with COMPLETE set.
    for shell in ["bash", "zsh", "fish"] {
        let script = env.std_cmd().env("COMPLETE", shell).output().unwrap();
        let script = String::from_utf8(script.stdout).unwrap();
        assert!(
            script.contains(&format!("COMPLETE=\"{shell}\""))
                || script.contains(&format!("COMPLETE={shell}")),
            "{shell}: {script}"
        );
    }
}
