//! Infrastructure: everything that touches the filesystem, the network or
//! another process, each piece taking explicit settings (never the whole
//! run's context): filesystem primitives and tree copies, locks, the cache
//! and its buckets, git mirrors, HTTP downloads, archives, the python
//! installers, and the process-wide plumbing (progress, interrupts,
//! failpoints).

pub mod archive;
pub mod cache;
pub mod failpoint;
pub mod fs;
pub mod git;
pub mod git_signature;
pub mod http;
pub mod interrupt;
pub mod lock;
pub mod parallel;
pub mod progress;
pub mod python;
pub mod retry;
pub mod shell;
pub mod ssh_keygen;
pub mod tree;
