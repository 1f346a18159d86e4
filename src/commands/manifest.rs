//! `manifest show`: the effective manifest after `extends`.

use anyhow::Result;

use crate::cli::SourceArgs;
use crate::context::Context;
use crate::deploy::{self, Selection};

pub fn show(ctx: &Context, args: &SourceArgs, json: bool) -> Result<()> {
    let selection = Selection::choose(args, None)?;
    let loaded = deploy::load(ctx, &selection)?;
    if json {
        return super::print_json(&loaded.manifest);
    }
    print!("{}", loaded.manifest.to_toml_string());
    Ok(())
}
