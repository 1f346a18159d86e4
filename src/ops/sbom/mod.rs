//! `sbom NAME`: a software bill of materials of a release, from its
//! `lava.lock` alone: every component (git URL and commit, archive URL and
//! sha256, branch path and tree id), every python package of its
//! environment (version, hashes, index), the manifest commit and who
//! signed it, and the overrides from `local/` marked as such. One neutral
//! list of items ([`Bom`]) is written out as CycloneDX or SPDX JSON.

mod cyclonedx;
mod items;
mod purl;
mod spdx;

use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::Context;
use crate::core::error::Result;
use crate::core::lock::LockFile;
use crate::core::names::InstanceName;
use crate::invalid;
use items::{component_item, manifest_item, python_items};

/// The formats `sbom` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CycloneDX 1.5 JSON.
    CycloneDx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// What python packages came from when the manifest names no index.
pub const DEFAULT_INDEX: &str = "the installer's default index";

/// Prefix of the properties lava-deploy adds (CycloneDX reserves `cdx:`).
const PROPERTY: &str = "lava-deploy";

/// A release's bill of materials, before it takes a format.
#[derive(Debug, Clone)]
pub struct Bom {
    pub instance: String,
    pub release: String,
    /// When this document is made (RFC 3339).
    pub created: String,
    /// Unique per document: a digest of the release, its lock and `created`.
    pub serial: String,
    /// Release-wide facts: manifest source, commit, signer, release date.
    pub properties: Vec<(String, String)>,
    pub manifest: Item,
    pub items: Vec<Item>,
}

impl Bom {
    /// The serial as a UUID (version 5 layout: a name-based digest).
    pub fn uuid(&self) -> String {
        let h = &self.serial;
        let variant = 0x8 | (u8::from_str_radix(&h[16..17], 16).unwrap_or(0) & 0x3);
        format!(
            "{}-{}-5{}-{variant:x}{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Git,
    Archive,
    BranchPath,
    Python,
    Manifest,
}

/// One component or package.
#[derive(Debug, Clone)]
pub struct Item {
    /// Unique in the document, letters, digits, `.` and `-` only (as SPDX
    /// ids need).
    pub id: String,
    pub name: String,
    pub version: Option<String>,
    pub kind: Kind,
    pub purl: String,
    /// SHA-256 digests, hex.
    pub sha256: Vec<String>,
    /// Where it comes from: a URL, or `git+<url>@<commit>[#path]`.
    pub location: Option<String>,
    /// The git repository, for a format's VCS reference.
    pub vcs: Option<String>,
    /// The python index it came from, when the manifest names one.
    pub index: Option<String>,
    /// One sentence: what it is and where it comes from.
    pub description: String,
    pub properties: Vec<(String, String)>,
    /// `local/<dir> …`: the release runs this checkout instead of the pin.
    pub overridden: Option<String>,
}

/// The bill of materials of `release` (default: current) of instance `name`.
pub fn sbom(ctx: &Context, name: &InstanceName, release: Option<&str>) -> Result<Bom> {
    let (instance, record) = ctx.existing_instance(name)?;
    let release = match release {
        Some(wanted) => instance.find_release(wanted)?,
        None => instance.current_release().ok_or_else(|| {
            invalid!("instance {name} has no current release; name one with --release")
        })?,
    };
    let lock = instance.read_lock(&release)?;
    let entry = record.releases.iter().find(|r| r.name == release);
    let mut bom = from_lock(
        &instance.dir.display().to_string(),
        name,
        release.as_str(),
        &lock,
        SystemTime::now(),
    );
    if let Some(entry) = entry {
        bom.properties
            .push((format!("{PROPERTY}:release-created"), entry.created.clone()));
        if let Some(failed) = &entry.failed {
            bom.properties
                .push((format!("{PROPERTY}:release-failed"), failed.clone()));
        }
    }
    Ok(bom)
}

/// Renders a bill of materials.
pub fn document(bom: &Bom, format: Format) -> serde_json::Value {
    match format {
        Format::CycloneDx => cyclonedx::document(bom),
        Format::Spdx => spdx::document(bom),
    }
}

/// The bill of materials of one lock: pure, `now` is when it is made.
pub fn from_lock(
    instance_dir: &str,
    instance: &str,
    release: &str,
    lock: &LockFile,
    now: SystemTime,
) -> Bom {
    let created = crate::core::time::rfc3339(now);
    let serial = hex::encode(Sha256::digest(
        format!("{instance_dir}\n{release}\n{}\n{created}", lock.to_toml()).as_bytes(),
    ));
    let manifest = manifest_item(lock);
    let mut properties = manifest.properties.clone();
    properties.retain(|(key, _)| key != &format!("{PROPERTY}:kind"));
    let mut items: Vec<Item> = lock
        .components
        .iter()
        .filter_map(|(name, component)| {
            component_item(name.as_str(), component, lock, lock.overrides.get(name))
        })
        .collect();
    items.extend(python_items(lock));
    Bom {
        instance: instance.to_owned(),
        release: release.to_owned(),
        created,
        serial,
        properties,
        manifest,
        items,
    }
}
