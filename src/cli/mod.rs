//! The command line: clap types (`args`), logging, and one thin module per
//! subcommand that calls an operation and renders its result. Nothing
//! below this layer sees clap or prints results.

mod args;
mod color;
mod commands;
mod completion;
mod logging;
mod render;

use std::process::ExitCode;

use clap::Parser;

use crate::core::error::{exit, Result};
use crate::ops::Context;
use args::{Cli, Command, ManifestCommand, SecretCommand};

/// The whole program: parse, run, map the outcome to an exit code.
pub fn main() -> ExitCode {
    completion::complete_if_asked();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::INVALID
            } else {
                exit::OK
            });
        }
    };
    logging::init(&cli.global);
    // `exec` leaves the signals to the command it runs.
    if !matches!(cli.command, Command::Exec { .. }) {
        crate::infra::interrupt::install_handlers();
    }
    match run(Context::new(cli.global.settings()), &cli.command) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn run(ctx: Context, command: &Command) -> Result<()> {
    use commands::*;
    match command {
        Command::Install { name, source, json } => {
            install::run(&ctx, name, &source.request(), *json)
        }
        Command::Upgrade {
            name,
            source,
            retry_failed,
            json,
        } => upgrade::run(&ctx, name, &source.request(), *retry_failed, *json),
        Command::Plan {
            name,
            source,
            retry_failed,
            json,
        } => plan::run(&ctx, name, &source.request(), *retry_failed, *json),
        Command::Status { name, json } => status::run(&ctx, name.as_ref(), *json),
        Command::List { json } => status::list(&ctx, *json),
        Command::History { name, json, limit } => history::run(&ctx, name, *json, *limit),
        Command::Prune { name, keep } => maintain::prune(&ctx, name, *keep),
        Command::Remove { name, yes } => maintain::remove(&ctx, name, *yes),
        Command::Verify { name } => maintain::verify(&ctx, name),
        Command::Rebuild { name, json } => upgrade::rebuild(&ctx, name, *json),
        Command::Develop { name, dir, json } => develop::develop(&ctx, name, dir, *json),
        Command::Undevelop {
            name,
            component,
            json,
        } => develop::undevelop(&ctx, name, component, *json),
        Command::Rollback {
            name,
            release,
            json,
        } => rollback::run(&ctx, name, release.as_deref(), *json),
        Command::Sbom {
            name,
            format,
            release,
        } => sbom::run(&ctx, name, *format, release.as_deref()),
        Command::Manifest(ManifestCommand::Convert { file }) => manifest::convert(&ctx, file),
        Command::Manifest(ManifestCommand::Show { source, json }) => {
            manifest::show(&ctx, &source.request(), *json)
        }
        Command::Secret(SecretCommand::Set {
            name,
            key,
            from_file,
            check,
            json,
        }) => secret::set(&ctx, name, key, from_file.as_deref(), *check, *json),
        Command::Secret(SecretCommand::List { name, json }) => secret::list(&ctx, name, *json),
        Command::Secret(SecretCommand::Rm { name, key, json }) => {
            secret::remove(&ctx, name, key, *json)
        }
        Command::Exec { name, command } => exec::run(&ctx, name, command),
        Command::Stop { name, json } => control::stop(&ctx, name, *json),
        Command::Start { name, json } => control::start(&ctx, name, *json),
        Command::Completions { shell } => {
            completion::write_script(*shell, &mut std::io::stdout());
            Ok(())
        }
        Command::Man { dir } => completion::write_man_pages(dir).map(|_| ()).map_err(|err| {
            crate::core::error::Error::Failed(
                err.context(format!("cannot write the man pages into {}", dir.display())),
            )
        }),
    }
}
