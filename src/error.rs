//! Errors the caller (ultimately the process exit code) must tell apart.
//!
//! Library code returns `anyhow::Error` with context; the few cases that change
//! the exit code are typed and found again by walking the error chain.

use std::fmt;

/// Exit codes of the contract.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const INVALID: u8 = 2;
    pub const BUSY: u8 = 3;
}

/// Invalid input: command line, instance name, manifest, or a command that
/// does not fit the instance's state (install over a healthy instance,
/// upgrade of an unknown one). Exit code 2.
#[derive(Debug)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

/// Another lava-deploy holds the instance lock. Exit code 3.
#[derive(Debug)]
pub struct Busy {
    pub instance: String,
    /// What the holder wrote into the lock file ("pid 123 running `upgrade` since …").
    pub holder: String,
}

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "instance {} is busy: {}", self.instance, self.holder)?;
        f.write_str("; wait for it to finish and run the command again")
    }
}

impl std::error::Error for Busy {}

/// Builds an [`Invalid`] error from a format string.
#[macro_export]
macro_rules! invalid {
    ($($arg:tt)*) => {
        anyhow::Error::new($crate::error::Invalid(format!($($arg)*)))
    };
}

/// The exit code an error maps to.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<Busy>() {
            return exit::BUSY;
        }
        if cause.is::<Invalid>() || cause.is::<crate::manifest::ManifestErrors>() {
            return exit::INVALID;
        }
    }
    exit::FAILED
}
