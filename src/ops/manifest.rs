//! `manifest show` and `manifest convert`: manifests on their own.

use std::path::Path;

use anyhow::Context as _;

use super::source::{load, BranchTree, Selection, SourceRequest};
use super::Context;
use crate::core::error::Result;
use crate::core::model::{ComponentSource, Manifest};
use crate::invalid;

/// The effective manifest after `extends`, for the asked branch and file.
pub fn show(ctx: &Context, asked: &SourceRequest) -> Result<Manifest> {
    let selection = Selection::choose(asked, None)?;
    Ok(load(ctx, &selection)?.manifest)
}

/// `manifest convert FILE.cfg`: the equivalent native manifest.
/// Abbreviated `[git-heads]` commits are resolved to full ones (through the
/// git cache), since a native manifest pins by full commit or tag.
pub fn convert(ctx: &Context, file: &Path) -> Result<Manifest> {
    let is_cfg = file.extension().is_some_and(|e| e == "cfg");
    let (Some(dir), Some(name), true) = (
        file.parent(),
        file.file_name().and_then(|n| n.to_str()),
        is_cfg,
    ) else {
        return Err(invalid!(
            "{} is not a zc.buildout configuration (*.cfg)",
            file.display()
        ));
    };
    if !file.is_file() {
        return Err(invalid!("{} does not exist", file.display()));
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let tree = BranchTree::Local(dir.to_path_buf());
    let mut manifest = crate::readers::load(&tree, name)?;
    for component in manifest.components.values_mut() {
        if let ComponentSource::Git {
            url,
            rev: Some(rev),
        } = &mut component.source
        {
            if rev.len() < 40 && rev.len() >= 4 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
                let resolved = ctx.git.mirror(url)?.resolve(Some(rev)).with_context(|| {
                    format!(
                        "component {}: cannot resolve [git-heads] {rev} of {url}",
                        component.name
                    )
                })?;
                *rev = resolved.commit.to_string();
            }
        }
    }
    Ok(manifest)
}
