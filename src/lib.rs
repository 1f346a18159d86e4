//! lava-deploy: install and upgrade named service instances from a
//! versioned manifest kept in a git branch.
//!
//! Layers, bottom up (see ARCHITECTURE.md; `tests/it/layers.rs` keeps them
//! true): `core` (pure model) ← `readers` (manifest files) ← `infra` (fs,
//! locks, cache, git, http, archives, python) ← `store` (instances and
//! releases on disk) ← `ops` (the operations) ← `cli`.

pub(crate) mod cli;
pub mod core;
pub(crate) mod infra;
pub(crate) mod ops;
pub mod readers;
pub(crate) mod store;

pub use crate::core::error::{Error, Result};

/// The program (the binary's `main` calls this).
pub fn main() -> std::process::ExitCode {
    cli::main()
}
