//! The pure core: the validated manifest model, the lock and its diff, the
//! instance record, names, archive formats and the error type. Nothing here
//! touches the filesystem, the network or another process.

pub mod archive_format;
pub mod decision;
pub mod env_vars;
pub mod error;
pub mod history;
pub mod lock;
pub mod model;
pub mod names;
pub mod pep440;
pub mod pep508;
pub mod project;
pub mod record;
pub mod secrets;
pub mod service;
pub mod time;
pub mod trust;
