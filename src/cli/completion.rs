//! Shell completions and man pages, generated from the clap definitions.
//!
//! Two kinds of completion: `lava-deploy completions SHELL` prints a static
//! script (every subcommand and flag, nothing read at completion time), and
//! `COMPLETE=SHELL lava-deploy` prints clap_complete's dynamic registration,
//! whose script calls the binary back on every tab; that is how instance
//! names are completed (the instances under the root the command line or
//! `LAVA_ROOT` names). The Debian package ships the dynamic scripts, whose
//! binary always comes with them.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::CommandFactory as _;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use fs_err as fs;

use super::args::Cli;
use crate::core::env_vars;
use crate::ops::DEFAULT_ROOT;
use crate::store::Root;

/// Subcommands whose positional `name` is an instance that exists already
/// (`install` names a new one, so it completes nothing).
const NEW_INSTANCE: &[&str] = &["install"];

/// Answers a completion request when the shell made one (`COMPLETE` set)
/// and exits; returns otherwise. Runs before anything is printed.
pub fn complete_if_asked() {
    clap_complete::CompleteEnv::with_factory(command).complete();
}

/// The clap command with the instance-name completer on every `name`
/// argument that names an existing instance, at any depth (`secret set`).
fn command() -> clap::Command {
    with_instance_completion(Cli::command())
}

fn with_instance_completion(cmd: clap::Command) -> clap::Command {
    let takes_instance = !NEW_INSTANCE.contains(&cmd.get_name())
        && cmd
            .get_arguments()
            .any(|arg| arg.get_id() == "name" && arg.is_positional());
    // `mut_args` keeps the arguments' order (`mut_arg` would move `name`
    // after the other positionals).
    let mut cmd = if takes_instance {
        cmd.mut_args(|arg| {
            if arg.get_id() == "name" {
                arg.add(ArgValueCompleter::new(instance_candidates))
            } else {
                arg
            }
        })
    } else {
        cmd
    };
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, with_instance_completion);
    }
    cmd
}

/// The instances under the root whose names start with what is typed.
fn instance_candidates(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let root = Root::new(completion_root(
        std::env::args_os(),
        std::env::var_os(env_vars::LAVA_ROOT),
    ));
    root.instance_names()
        .unwrap_or_default()
        .into_iter()
        .filter(|name| name.as_str().starts_with(current))
        .map(|name| CompletionCandidate::new(name.as_str()))
        .collect()
}

/// The root the command being completed would use: its last `--root`
/// (the words the shell passes after `--`, the word being completed
/// included), else `LAVA_ROOT`, else the default, as the command itself
/// decides (flags before the environment).
fn completion_root(
    args: impl IntoIterator<Item = OsString>,
    env_root: Option<OsString>,
) -> PathBuf {
    let words: Vec<OsString> = args
        .into_iter()
        .skip_while(|word| word != "--")
        .skip(1)
        .collect();
    let mut root = None;
    let mut words_iter = words.iter().peekable();
    while let Some(word) = words_iter.next() {
        if word == "--" {
            break;
        }
        if word == "--root" {
            if let Some(value) = words_iter.peek() {
                root = Some(PathBuf::from(value));
            }
        } else if let Some(value) = word.to_str().and_then(|w| w.strip_prefix("--root=")) {
            root = Some(PathBuf::from(value));
        }
    }
    root.or_else(|| env_root.filter(|r| !r.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT))
}

/// The static completion script of one shell.
pub fn write_script(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "lava-deploy", out);
}

/// One man page per command (`lava-deploy.1`, `lava-deploy-install.1`,
/// `lava-deploy-manifest-show.1`, …; hidden ones left out) written into
/// `dir`, which is created; returns the files written.
pub fn write_man_pages(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_man_page(&cmd, dir, &mut written)?;
    Ok(written)
}

fn write_man_page(
    cmd: &clap::Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    let path = dir.join(man.get_filename());
    let mut page = Vec::new();
    man.render(&mut page)
        .with_context(|| format!("rendering the man page {}", path.display()))?;
    crate::infra::fs::write_atomic(&path, &page)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_man_page(sub, dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::completion_root;
    use std::ffi::OsString;
    use std::path::PathBuf;

    fn words(line: &str) -> Vec<OsString> {
        line.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn the_root_comes_from_the_line_then_the_environment_then_the_default() {
        let env = Some(OsString::from("/env"));
        let root = |line: &str, env: Option<OsString>| completion_root(words(line), env);
        assert_eq!(
            root(
                "lava-deploy -- lava-deploy --root /a upgrade x",
                env.clone()
            ),
            PathBuf::from("/a")
        );
        assert_eq!(
            root(
                "lava-deploy -- lava-deploy upgrade --root=/b x",
                env.clone()
            ),
            PathBuf::from("/b")
        );
        assert_eq!(
            root("lava-deploy -- lava-deploy upgrade x", env.clone()),
            PathBuf::from("/env")
        );
        assert_eq!(
            root("lava-deploy -- lava-deploy upgrade x", None),
            PathBuf::from(crate::ops::DEFAULT_ROOT)
        );
        // The words before the shell's `--` are the completer's own.
        assert_eq!(
            root("lava-deploy --root /no -- lava-deploy status", None),
            PathBuf::from(crate::ops::DEFAULT_ROOT)
        );
    }
}
