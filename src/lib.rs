//! lava-deploy: install and upgrade named service instances from a
//! versioned manifest kept in a git branch.

pub mod build;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod context;
pub mod deploy;
pub mod env_vars;
pub mod error;
pub mod failpoint;
pub mod fetch;
pub mod interrupt;
pub mod layout;
pub mod lockfile;
pub mod manifest;
pub mod overrides;
pub mod progress;
pub mod python;
pub mod record;
pub mod resolve;
pub mod util;

mod logging;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, Config, ManifestCommand};
use context::Context;

/// The whole program: parse, run, map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                error::exit::INVALID
            } else {
                error::exit::OK
            });
        }
    };
    let config = Config::from_args(&cli.global);
    logging::init(&config);
    interrupt::install_handlers();
    match run(Context::new(config), &cli.command) {
        Ok(()) => ExitCode::from(error::exit::OK),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(error::exit_code(&err))
        }
    }
}

pub fn run(ctx: Context, command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Install { name, source } => commands::install::run(&ctx, name, source),
        Command::Upgrade { name, source } => commands::upgrade::run(&ctx, name, source),
        Command::Plan { name, source, json } => commands::plan::run(&ctx, name, source, *json),
        Command::Status { name, json } => commands::status::run(&ctx, name.as_deref(), *json),
        Command::List { json } => commands::list::run(&ctx, *json),
        Command::Prune { name, keep } => commands::lifecycle::prune(&ctx, name, *keep),
        Command::Remove { name, yes } => commands::lifecycle::remove(&ctx, name, *yes),
        Command::Verify { name } => commands::lifecycle::verify(&ctx, name),
        Command::Rebuild { name } => commands::rebuild::run(&ctx, name),
        Command::Develop { name, dir } => commands::develop::develop(&ctx, name, dir),
        Command::Undevelop { name, component } => {
            commands::develop::undevelop(&ctx, name, component)
        }
        Command::Rollback { name, release } => {
            commands::rollback::run(&ctx, name, release.as_deref())
        }
        Command::Manifest(ManifestCommand::Convert { file }) => {
            commands::manifest::convert(&ctx, file)
        }
        Command::Manifest(ManifestCommand::Show { source, json }) => {
            commands::manifest::show(&ctx, source, *json)
        }
    }
}
