//! One module per subcommand: call the operation, render its result.

pub mod control;
pub mod develop;
pub mod exec;
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

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?
    );
    Ok(())
}

/// Ends a changing command: with `--json` the report on stdout, whatever
/// happened (the error goes into it, and still decides the exit code);
/// otherwise `text` of the result.
pub fn finish<T>(
    ctx: &crate::ops::Context,
    json: bool,
    mut report: crate::ops::report::Report,
    result: Result<T>,
    text: impl FnOnce(&T),
) -> Result<()> {
    if json {
        if let Err(err) = &result {
            report.error = Some(err.to_string());
        }
        report.settle(ctx);
        print_json(&report)?;
        return result.map(|_| ());
    }
    result.map(|done| text(&done))
}
