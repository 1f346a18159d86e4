//! `manifest show` and `manifest convert`.

use std::path::Path;

use crate::core::error::Result;
use crate::ops::source::SourceRequest;
use crate::ops::Context;

pub fn show(ctx: &Context, asked: &SourceRequest, json: bool) -> Result<()> {
    let manifest = crate::ops::manifest::show(ctx, asked)?;
    if json {
        return super::print_json(&manifest);
    }
    print!("{}", manifest.to_toml_string());
    Ok(())
}

pub fn convert(ctx: &Context, file: &Path) -> Result<()> {
    print!(
        "{}",
        crate::ops::manifest::convert(ctx, file)?.to_toml_string()
    );
    Ok(())
}
