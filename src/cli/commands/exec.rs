//! `exec NAME -- CMD [ARGS…]`: exits with the command's status.

use std::ffi::OsString;
use std::io::Write;

use crate::core::error::Result;
use crate::ops::Context;

pub fn run(ctx: &Context, name: &str, command: &[OsString]) -> Result<()> {
    let (program, args) = command.split_first().expect("clap requires a command");
    let status = crate::ops::exec::exec(ctx, name, program, args)?;
    let _ = std::io::stdout().flush();
    std::process::exit(status);
}
