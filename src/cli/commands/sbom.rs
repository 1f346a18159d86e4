//! `sbom NAME`: a release's bill of materials as CycloneDX or SPDX JSON.

use crate::cli::args::SbomFormat;
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::ops::sbom::{document, sbom, Format};
use crate::ops::Context;

pub fn run(
    ctx: &Context,
    name: &InstanceName,
    format: SbomFormat,
    release: Option<&str>,
) -> Result<()> {
    let format = match format {
        SbomFormat::Cyclonedx => Format::CycloneDx,
        SbomFormat::Spdx => Format::Spdx,
    };
    let bom = sbom(ctx, name, release)?;
    super::print_json(&document(&bom, format))
}
