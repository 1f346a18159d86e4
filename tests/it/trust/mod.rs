//! Trust: manifests signed with SSH keys, checked before anything is
//! fetched, and software bills of materials of releases.

mod sbom;
mod signed;
