//! Getting component sources: git mirrors, downloads and archives.

pub mod archive;
pub mod git;
pub mod http;
