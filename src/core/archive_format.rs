//! The archive formats a `url` component may name, told by its URL.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    TarGz,
    TarXz,
    Tar,
    Zip,
}

impl ArchiveFormat {
    pub const SUFFIXES: &'static [&'static str] =
        &[".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar", ".zip"];

    /// The format named by the URL's path (query and fragment ignored).
    pub fn from_url(url: &str) -> Option<Self> {
        let path = url
            .split(['?', '#'])
            .next()
            .unwrap_or(url)
            .to_ascii_lowercase();
        if path.ends_with(".tar.gz") || path.ends_with(".tgz") {
            Some(ArchiveFormat::TarGz)
        } else if path.ends_with(".tar.xz") || path.ends_with(".txz") {
            Some(ArchiveFormat::TarXz)
        } else if path.ends_with(".tar") {
            Some(ArchiveFormat::Tar)
        } else if path.ends_with(".zip") {
            Some(ArchiveFormat::Zip)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_urls() {
        assert_eq!(
            ArchiveFormat::from_url("https://x/theme-1.2.tar.gz"),
            Some(ArchiveFormat::TarGz)
        );
        assert_eq!(
            ArchiveFormat::from_url("https://x/a.TGZ?x=1"),
            Some(ArchiveFormat::TarGz)
        );
        assert_eq!(
            ArchiveFormat::from_url("https://x/a.tar.xz"),
            Some(ArchiveFormat::TarXz)
        );
        assert_eq!(
            ArchiveFormat::from_url("https://x/a.zip"),
            Some(ArchiveFormat::Zip)
        );
        assert_eq!(ArchiveFormat::from_url("https://x/a.rar"), None);
    }
}
