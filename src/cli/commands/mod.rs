//! One module per subcommand: call the operation, render its result.

pub mod develop;
pub mod install;
pub mod maintain;
pub mod manifest;
pub mod plan;
pub mod rollback;
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
