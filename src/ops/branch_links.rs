//! `find-links` and `index-url` entries that are directories of the
//! manifest branch (zc.buildout's `${buildout:directory}/dist`): exported
//! from the branch, as `path` components are, and handed to the installer
//! as local paths.

use std::path::Path;

use anyhow::Context as _;

use super::source::BranchTree;
use crate::core::model::PythonSettings;

/// `settings` with every branch directory exported under `dir` and named by
/// its local path (`find-links`) or `file://` URL (`index-url`):
/// a copy, the same when there is none.
pub fn serve_from_branch(
    settings: &PythonSettings,
    tree: &BranchTree,
    dir: &Path,
) -> anyhow::Result<PythonSettings> {
    let mut served = settings.clone();
    let export = |link: &str, n: usize| -> anyhow::Result<String> {
        let dest = dir.join(format!("{n}"));
        tree.export_dir(link, &dest).with_context(|| {
            format!("cannot read {link} of the manifest branch (a python find-links or index)")
        })?;
        Ok(dest.to_string_lossy().into_owned())
    };
    for (n, link) in served.find_links.iter_mut().enumerate() {
        if PythonSettings::in_branch(link) {
            *link = export(link, n)?;
        }
    }
    if let Some(index) = served.index_url.as_mut() {
        if PythonSettings::in_branch(index) {
            *index = format!("file://{}", export(index, served.find_links.len())?);
        }
    }
    Ok(served)
}
