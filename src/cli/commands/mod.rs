//! One module per subcommand: call the operation, render its result.

pub mod control;
pub mod develop;
pub mod exec;
pub mod history;
pub mod install;
pub mod maintain;
pub mod manifest;
pub mod plan;
pub mod rollback;
pub mod sbom;
pub mod secret;
pub mod status;
pub mod upgrade;

use crate::core::error::Result;
use crate::ops::outcome::{HookRun, Standing, Tracked, Trail};

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?
    );
    Ok(())
}

/// The `--json` report of a changing command (README, *Results for
/// automation*): built here and nowhere else, from the operation's outcome
/// or failure.
#[derive(serde::Serialize)]
struct ReportJson<'a> {
    instance: &'a str,
    action: &'a str,
    changed: bool,
    release: &'a Option<String>,
    previous: &'a Option<String>,
    changes: Vec<crate::cli::render::ReportedChange>,
    secrets: &'a [crate::core::lock::SecretChange],
    hooks: &'a [HookRun],
    rolled_back: bool,
    failed_release: &'a Option<String>,
    error: Option<String>,
    manifest: &'a Option<crate::core::lock::LockedManifest>,
    follows: &'a Option<crate::core::record::SourceRecord>,
    path: &'a Option<String>,
}

fn report_json<'a>(
    instance: &'a str,
    action: &'a str,
    trail: &'a Trail,
    standing: &'a Standing,
    error: Option<String>,
) -> ReportJson<'a> {
    ReportJson {
        instance,
        action,
        changed: trail.changed,
        release: &trail.release,
        previous: &trail.previous,
        changes: crate::cli::render::reported_changes(&trail.changes),
        secrets: &trail.secrets,
        hooks: &trail.hooks,
        rolled_back: trail.rolled_back,
        failed_release: &trail.failed_release,
        error,
        manifest: &standing.manifest,
        follows: &standing.follows,
        path: &standing.path,
    }
}

/// Ends a changing command: with `--json` the report on stdout, whatever
/// happened (the error goes into it, and still decides the exit code);
/// otherwise `text` of the result.
pub fn finish<T>(
    json: bool,
    instance: &str,
    action: &str,
    result: Tracked<T>,
    text: impl FnOnce(&T),
) -> Result<()> {
    match (json, result) {
        (true, Ok(done)) => print_json(&report_json(
            instance,
            action,
            &done.trail,
            &done.standing,
            None,
        )),
        (true, Err(failure)) => {
            let failure = *failure;
            let error = Some(failure.error.to_string());
            print_json(&report_json(
                instance,
                action,
                &failure.trail,
                &failure.standing,
                error,
            ))?;
            Err(failure.error)
        }
        (false, Ok(done)) => {
            text(&done.done);
            Ok(())
        }
        (false, Err(failure)) => Err(failure.error),
    }
}
