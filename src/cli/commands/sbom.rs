//! `sbom NAME`: a release's bill of materials as CycloneDX or SPDX JSON.

use crate::core::error::Result;
use crate::ops::sbom::{document, sbom, Format};
use crate::ops::Context;

pub fn run(ctx: &Context, name: &str, format: &str, release: Option<&str>) -> Result<()> {
    // clap accepts only these two names.
    let format = match format {
        "spdx" => Format::Spdx,
        _ => Format::CycloneDx,
    };
    let bom = sbom(ctx, name, release)?;
    super::print_json(&document(&bom, format))
}
