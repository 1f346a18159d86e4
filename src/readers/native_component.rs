//! One `[components.NAME]` entry of a native manifest, validated: exactly
//! one source, pins that are pins, paths inside the branch, and the keys
//! that only mean something for python-installed trees.

use super::raw::RawComponent;
use super::{looks_like_git_location, normalize_branch_path, BranchFiles};
use crate::core::archive_format::ArchiveFormat;
use crate::core::model::{
    python_range, Component, ComponentSource, Location, ManifestError, LATEST,
};
use crate::core::names::ComponentName;

fn push_error(errors: &mut Vec<ManifestError>, at: Location, message: String) {
    errors.push(ManifestError { at, message });
}

pub(super) fn read_component(
    tree: &dyn BranchFiles,
    errors: &mut Vec<ManifestError>,
    name: &str,
    raw: RawComponent,
    at: Location,
    here: &dyn Fn(std::ops::Range<usize>) -> Location,
) -> Option<Component> {
    let errors_before = errors.len();
    let valid_name = ComponentName::parse(name).map_err(|problem| {
        errors.push(ManifestError {
            at: at.clone(),
            message: problem,
        })
    });
    let mut fail = |message: String| {
        errors.push(ManifestError {
            at: at.clone(),
            message: format!("component {name}: {message}"),
        })
    };
    let sources: Vec<&str> = [
        ("git", raw.git.is_some()),
        ("url", raw.url.is_some()),
        ("path", raw.path.is_some()),
        ("python", raw.python.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
    .collect();
    match sources.as_slice() {
        [_] => {}
        [] => fail("needs exactly one of git, url, path or python".into()),
        many => fail(format!(
            "has {} set; a component has exactly one of git, url, path or python",
            many.join(" and ")
        )),
    }
    if raw.rev.is_some() && raw.git.is_none() {
        fail("rev only applies to git components".into());
    }
    if raw.sha256.is_some() && raw.url.is_none() {
        fail("sha256 only applies to url components".into());
    }
    if raw.hashes.is_some() && raw.python.is_none() {
        fail("hashes only apply to python components (url components take sha256)".into());
    }
    let install_python = match raw.install.as_deref() {
        None => false,
        Some("python") if raw.python.is_none() => true,
        Some("python") => {
            fail("install = \"python\" is for git, url and path components; a python component is always installed".into());
            false
        }
        Some(other) => {
            fail(format!(
                "install = {other:?} is not known; the only installer is \"python\""
            ));
            false
        }
    };
    if let Some(git) = &raw.git {
        if !looks_like_git_location(git) {
            fail(format!(
                "git = {git:?} is not a URL or absolute path of a git repository"
            ));
        }
    }
    if let Some(rev) = &raw.rev {
        if rev.trim().is_empty() || rev.contains(char::is_whitespace) {
            fail(format!("rev = {rev:?} is not a tag, branch or commit"));
        }
    }
    let sha256 = raw.sha256.as_deref().map(str::to_ascii_lowercase);
    if let Some(sha256) = &sha256 {
        if !is_sha256(sha256) {
            fail(format!("sha256 = {sha256:?} is not 64 hexadecimal digits"));
        }
    }
    if let Some(url) = &raw.url {
        if !(url.starts_with("http://")
            || url.starts_with("https://")
            || url.starts_with("file://"))
        {
            fail(format!(
                "url = {url:?} must start with http://, https:// or file://"
            ));
        } else if ArchiveFormat::from_url(url).is_none() {
            fail(format!(
                "url = {url:?} is not an archive lava-deploy can unpack ({})",
                ArchiveFormat::SUFFIXES.join(", ")
            ));
        }
    }
    if let Some(path) = &raw.path {
        match normalize_branch_path(path) {
            // `.`: the branch itself (zc.buildout's `develop = .`).
            Some(normalized) if normalized.is_empty() => {}
            Some(normalized) => match tree.is_dir(&normalized) {
                Ok(true) => {}
                Ok(false) => fail(format!("path = {path:?} is not a directory of the manifest branch")),
                Err(err) => fail(format!("path = {path:?} cannot be read: {err:#}")),
            },
            _ => fail(format!("path = {path:?} must be a directory inside the manifest branch, relative to its root")),
        }
    }
    if let Some(version) = &raw.python {
        if version != LATEST && !is_exact_version(version) && python_range(version).is_none() {
            fail(format!(
                "python = {version:?} is not an exact version (like \"3.1.0\"), a range \
                 (like \">=3.0,<4\") or \"latest\""
            ));
        }
    }
    for hash in raw.hashes.iter().flatten() {
        if !hash.strip_prefix("sha256:").is_some_and(is_sha256) {
            fail(format!(
                "hashes entry {hash:?} is not \"sha256:\" followed by 64 hexadecimal digits"
            ));
        }
    }
    let extras = raw.extras.map(|extras| {
        let key_at = here(extras.span());
        let extras = extras.into_inner();
        // A python component takes extras too (zc.buildout's `bar[baz]`).
        if raw.python.is_none() && raw.install.as_deref() != Some("python") {
            push_error(
                errors,
                key_at.clone(),
                format!(
                    "component {name}: extras only applies to python components and to \
                     git, url and path components with install = \"python\""
                ),
            );
        }
        for extra in &extras {
            if !is_extra_name(extra) {
                push_error(
                    errors,
                    key_at.clone(),
                    format!(
                        "component {name}: extras entry {extra:?} is not an extra name \
                         (letters, digits, and '.', '_' or '-' between them)"
                    ),
                );
            }
        }
        extras
    });
    let version = raw.version.map(|version| {
        let key_at = here(version.span());
        let version = version.into_inner();
        // A python component's version is its `python` pin.
        if raw.python.is_some() || raw.install.as_deref() != Some("python") {
            push_error(
                errors,
                key_at.clone(),
                format!(
                    "component {name}: version only applies to git, url and path components \
                     with install = \"python\""
                ),
            );
        }
        if !crate::core::pep440::is_valid(&version) {
            push_error(
                errors,
                key_at,
                format!(
                    "component {name}: version = {version:?} is not a Python version \
                     (PEP 440, like \"2026.7\" or \"1.2.post3\")"
                ),
            );
        }
        version
    });
    let marker = raw.marker.and_then(|marker| {
        let key_at = here(marker.span());
        let marker = marker.into_inner();
        if raw.python.is_none() {
            push_error(
                errors,
                key_at,
                format!("component {name}: marker only applies to python components"),
            );
            return None;
        }
        match super::buildout::canonical_marker(&marker) {
            Ok(canonical) => Some(canonical),
            Err(problem) => {
                push_error(
                    errors,
                    key_at,
                    format!(
                        "component {name}: marker = {marker:?} is not an environment marker: {problem}"
                    ),
                );
                None
            }
        }
    });
    let name = valid_name.ok()?;
    if errors.len() > errors_before {
        return None;
    }
    let source = if let Some(url) = raw.git {
        ComponentSource::Git { url, rev: raw.rev }
    } else if let Some(url) = raw.url {
        ComponentSource::Url { url, sha256 }
    } else if let Some(path) = raw.path {
        ComponentSource::Path {
            path: match normalize_branch_path(&path) {
                Some(normalized) if normalized.is_empty() => ".".to_owned(),
                normalized => normalized.unwrap_or(path),
            },
        }
    } else {
        // A range in packaging's canonical text, so it compares as such.
        let version = raw.python.unwrap_or_default();
        ComponentSource::Python {
            version: match python_range(&version) {
                Some(range) if version != LATEST => range,
                _ => version,
            },
        }
    };
    Some(Component {
        name,
        source,
        install_python,
        hashes: raw
            .hashes
            .unwrap_or_default()
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        extras: extras.unwrap_or_default(),
        version,
        marker,
        defined_at: at,
    })
}

pub(super) fn component_has_source_keys(raw: &RawComponent) -> bool {
    raw.git.is_some()
        || raw.url.is_some()
        || raw.path.is_some()
        || raw.python.is_some()
        || raw.rev.is_some()
        || raw.sha256.is_some()
        || raw.install.is_some()
        || raw.hashes.is_some()
        || raw.extras.is_some()
        || raw.version.is_some()
        || raw.marker.is_some()
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A PEP 508 extra name: letters and digits, with `.`, `_` or `-` only
/// between them.
fn is_extra_name(s: &str) -> bool {
    let inner_ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes.iter().all(|&b| inner_ok(b))
        }
        _ => false,
    }
}

/// An exact version as pip understands one: no operators, no spaces.
pub(super) fn is_exact_version(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '!' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_lines() {
        assert!(is_exact_version("3.1.0"));
        assert!(is_exact_version("2.0rc1"));
        assert!(!is_exact_version(">=3"));
        assert!(!is_exact_version("latest"));
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }

    #[test]
    fn extra_names() {
        for good in ["server", "s", "dispatcher-host", "a.b_c", "X1"] {
            assert!(is_extra_name(good), "{good}");
        }
        for bad in ["", "-x", "x-", "a b", "x]", "server,dev", "é"] {
            assert!(!is_extra_name(bad), "{bad}");
        }
    }
}
