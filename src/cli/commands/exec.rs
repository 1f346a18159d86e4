//! `exec NAME -- CMD [ARGS…]`: exits with the command's status.

use std::ffi::OsString;
use std::io::Write;

use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::ops::Context;

pub fn run(ctx: &Context, name: &InstanceName, command: &[OsString]) -> Result<()> {
    let (program, args) = command.split_first().expect("clap requires a command");
    let status = crate::ops::exec::exec(ctx, name, program, args)?;
    let _ = std::io::stdout().flush();
    std::process::exit(status);
}
