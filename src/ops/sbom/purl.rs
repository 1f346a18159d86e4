//! Package URLs (purl) and the URL spellings SBOM formats expect.

/// Percent-encodes everything but the purl spec's unreserved characters
/// and `keep`.
fn encode(text: &str, keep: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let c = char::from(byte);
        if c.is_ascii_alphanumeric() || "-._~".contains(c) || (c.is_ascii() && keep.contains(c)) {
            out.push(c);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A name or version segment: `/`, `@`, `?`, `#` and `:` would be read as
/// separators.
fn segment(text: &str) -> String {
    encode(text, "")
}

/// A qualifier value: `:` and `/` may stay, as in the spec's examples
/// (`download_url=https://…`).
fn qualifier(text: &str) -> String {
    encode(text, ":/")
}

/// A git URL as a URL: local paths become `file://` URLs and scp-like
/// `user@host:path` becomes `ssh://user@host/path`, so that SBOM readers
/// (and IRI syntax) see a scheme.
pub fn url_of_git(git: &str) -> String {
    if git.starts_with('/') {
        return format!("file://{git}");
    }
    if !git.contains("://") {
        if let Some((host, path)) = git.split_once(':') {
            if host.contains('@') && !host.contains('/') {
                return format!("ssh://{host}/{}", path.trim_start_matches('/'));
            }
        }
    }
    git.to_owned()
}

/// `git+<url>@<commit>`: the VCS location form of SPDX and of purl's `vcs_url`.
pub fn vcs_location(git: &str, commit: &str) -> String {
    format!("git+{}@{commit}", url_of_git(git))
}

/// `pkg:pypi/<name>@<version>`, with the index when it is not the
/// installer's default (`repository_url`). The name as PEP 503 normalises it.
pub fn pypi(name: &str, version: &str, index: Option<&str>) -> String {
    let name = crate::core::names::normalize_project(name);
    let mut purl = format!("pkg:pypi/{}@{}", segment(&name), segment(version));
    if let Some(index) = index {
        purl.push_str(&format!("?repository_url={}", qualifier(index)));
    }
    purl
}

/// `pkg:generic/<name>@<commit>?vcs_url=git%2B<url>%40<commit>`, with a
/// `#subpath` for a directory of the repository.
pub fn generic_vcs(name: &str, version: &str, vcs: &str, subpath: Option<&str>) -> String {
    let mut purl = format!(
        "pkg:generic/{}@{}?vcs_url={}",
        segment(name),
        segment(version),
        qualifier(vcs)
    );
    if let Some(subpath) = subpath {
        let parts: Vec<String> = subpath
            .split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
            .map(segment)
            .collect();
        purl.push('#');
        purl.push_str(&parts.join("/"));
    }
    purl
}

/// `pkg:generic/<name>?download_url=…&checksum=sha256:…`.
pub fn generic_download(name: &str, url: &str, sha256: &str) -> String {
    format!(
        "pkg:generic/{}?download_url={}&checksum=sha256:{sha256}",
        segment(name),
        qualifier(url)
    )
}

/// `pkg:generic/<name>@<version>`.
pub fn generic(name: &str, version: &str) -> String {
    format!("pkg:generic/{}@{}", segment(name), segment(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_encode_what_would_be_read_as_separators() {
        assert_eq!(
            generic_vcs(
                "lava",
                "1f2e",
                &vcs_location("https://git.example.org/lava.git", "1f2e"),
                None
            ),
            "pkg:generic/lava@1f2e?vcs_url=git%2Bhttps://git.example.org/lava.git%401f2e"
        );
        assert_eq!(
            generic_vcs("recipes", "git:ab", "git+file:///m@c", Some("a/recipes")),
            "pkg:generic/recipes@git%3Aab?vcs_url=git%2Bfile:///m%40c#a/recipes"
        );
        assert_eq!(
            generic_download("theme", "https://example.org/t.tar.gz?x=1&y", "ab"),
            "pkg:generic/theme?download_url=https://example.org/t.tar.gz%3Fx%3D1%26y&checksum=sha256:ab"
        );
        assert_eq!(pypi("Foo_Bar", "1.0", None), "pkg:pypi/foo-bar@1.0");
        assert_eq!(
            pypi("greet", "1.0", Some("http://127.0.0.1:1/simple")),
            "pkg:pypi/greet@1.0?repository_url=http://127.0.0.1:1/simple"
        );
    }

    #[test]
    fn git_urls_get_a_scheme() {
        assert_eq!(url_of_git("/srv/git/lava"), "file:///srv/git/lava");
        assert_eq!(
            url_of_git("git@example.org:lava/lava.git"),
            "ssh://git@example.org/lava/lava.git"
        );
        assert_eq!(
            url_of_git("https://example.org/lava.git"),
            "https://example.org/lava.git"
        );
    }
}
