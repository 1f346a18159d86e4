//! `exec NAME -- CMD [ARGS…]`: a command in the current release, run as
//! the hooks run (working directory, `PATH`, `LAVA_*` with
//! `LAVA_PHASE=exec`, `[environment]`, secrets), under no instance lock.

use std::ffi::{OsStr, OsString};

use super::deploy::require_current;
use super::Context;
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::infra::shell::run_foreground;

/// Runs the command and returns its exit status (`128 + N` for signal N).
pub fn exec(ctx: &Context, name: &InstanceName, program: &OsStr, args: &[OsString]) -> Result<i32> {
    let (instance, _) = ctx.existing_instance(name)?;
    let (release, lock) = require_current(&instance)?;
    let (env, redactor) =
        super::hooks::release_environment(&instance, &release, &lock.service, "exec")?;
    let cwd = instance.release_dir(&release);
    tracing::debug!(
        "exec in {}: {}",
        cwd.display(),
        redactor.redact_text(&program.to_string_lossy())
    );
    run_foreground(program, args, &cwd, &env).map_err(|err| {
        crate::invalid!(
            "cannot run {:?} in release {release} of instance {} ({err}); a command is looked \
             for in the release's bin/ and then PATH",
            redactor.redact_text(&program.to_string_lossy()),
            instance.name
        )
    })
}
