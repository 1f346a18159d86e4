//! The library's error. Its kind decides the process exit code, so the
//! code that knows what went wrong (a bad name, a busy instance, a broken
//! manifest) says so once, with a type, and nothing walks a chain later.

use std::fmt::Display;

use super::model::ManifestErrors;

/// Exit codes of the contract.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const INVALID: u8 = 2;
    pub const BUSY: u8 = 3;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid input: command line, instance name, manifest selection, or a
    /// command that does not fit the instance's state (install over a
    /// healthy instance, upgrade of an unknown one). Exit code 2.
    #[error("{0}")]
    Invalid(String),
    /// Every problem found in a manifest. Exit code 2.
    #[error(transparent)]
    Manifest(#[from] ManifestErrors),
    /// Another lava-deploy holds the instance lock. Exit code 3.
    #[error(
        "instance {instance} is busy: {holder}; wait for it to finish and run the command again"
    )]
    Busy {
        instance: String,
        /// What the holder wrote into the lock file ("pid 123 running `upgrade` since …").
        holder: String,
    },
    /// The operation failed: network, disk, an installer, a hook. Exit code 1.
    /// The chain of causes is printed on one line.
    #[error("{0:#}")]
    Failed(anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_) | Error::Manifest(_) => exit::INVALID,
            Error::Busy { .. } => exit::BUSY,
            Error::Failed(_) => exit::FAILED,
        }
    }

    /// The same error, explained by `context` first; the kind (and so the
    /// exit code) stays.
    pub fn context(self, context: impl Display + Send + Sync + 'static) -> Self {
        match self {
            Error::Invalid(message) => Error::Invalid(format!("{context}: {message}")),
            Error::Failed(err) => Error::Failed(err.context(context)),
            other => other,
        }
    }
}

/// Anything untyped is a failure of the operation (exit code 1).
impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        Error::Failed(err)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::Failed(err.into())
    }
}

/// `.context()` for results that carry the typed [`Error`].
pub trait ResultExt<T> {
    fn context_of<C, F>(self, context: F) -> Result<T>
    where
        C: Display + Send + Sync + 'static,
        F: FnOnce() -> C;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn context_of<C, F>(self, context: F) -> Result<T>
    where
        C: Display + Send + Sync + 'static,
        F: FnOnce() -> C,
    {
        self.map_err(|err| err.into().context(context()))
    }
}

/// Builds an [`Error::Invalid`] from a format string.
#[macro_export]
macro_rules! invalid {
    ($($arg:tt)*) => {
        $crate::core::error::Error::Invalid(format!($($arg)*))
    };
}
