//! Names that become paths: instances, releases and components. Each is a
//! validated newtype, so that nothing a user or a manifest says can name a
//! path outside its directory once it has become one of these.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The characters every name may use: they are safe as one path segment.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// 1..=`max` name characters, not starting with `.` or `-` (which rules out
/// `.`, `..`, hidden files and things that look like options).
fn is_safe_segment(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && !name.starts_with('.')
        && !name.starts_with('-')
        && name.chars().all(is_name_char)
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<std::path::Path> for $name {
            fn as_ref(&self) -> &std::path::Path {
                std::path::Path::new(&self.0)
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                Self::parse(&text)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

name_type!(
    /// An instance: 1–64 of `[A-Za-z0-9._-]`, not starting with `.` or `-`.
    InstanceName
);

name_type!(
    /// A component: the directory `src/<name>` of every release. Same
    /// characters as an instance name, up to 100 of them.
    ComponentName
);

name_type!(
    /// A release directory: `NNNN-<description>`, numbered from 1, never reused.
    ReleaseName
);

impl InstanceName {
    /// The name, or a sentence saying what a valid one looks like.
    pub fn parse(name: &str) -> Result<Self, String> {
        if is_safe_segment(name, 64) {
            Ok(InstanceName(name.to_owned()))
        } else {
            Err(format!(
                "invalid instance name {name:?}: use 1 to 64 characters of letters, digits, \
                 '.', '_' and '-', not starting with '.' or '-' (for example \"testinstance\")"
            ))
        }
    }
}

impl ComponentName {
    /// The name, or a sentence saying why it cannot be one.
    pub fn parse(name: &str) -> Result<Self, String> {
        if is_safe_segment(name, 100) {
            Ok(ComponentName(name.to_owned()))
        } else {
            Err(format!(
                "component {name}: the name must be 1 to 100 letters, digits, '.', '_' and '-', \
                 not starting with '.' or '-' (it names the directory src/<name> of every release)"
            ))
        }
    }
}

impl ReleaseName {
    pub fn parse(name: &str) -> Result<Self, String> {
        match release_number(name) {
            Some(_) if is_safe_segment(name, 128) => Ok(ReleaseName(name.to_owned())),
            _ => Err(format!("{name:?} is not a release name (NNNN-description)")),
        }
    }

    /// Release `number` described by the manifest's `description`.
    pub fn new(number: u32, description: &str) -> Self {
        ReleaseName(format!("{number:04}-{}", sanitize_description(description)))
    }

    pub fn number(&self) -> u32 {
        release_number(&self.0).expect("validated release name")
    }
}

/// The number of a release directory name `NNNN-description`.
pub fn release_number(name: &str) -> Option<u32> {
    let (number, _) = name.split_once('-')?;
    if number.len() < 4 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok()
}

/// Keeps a description usable as part of a directory name.
fn sanitize_description(description: &str) -> String {
    let cleaned: String = description
        .chars()
        .map(|c| if is_name_char(c) { c } else { '_' })
        .take(64)
        .collect();
    let cleaned = cleaned.trim_matches(|c| c == '.' || c == '-').to_owned();
    if cleaned.is_empty() {
        "release".to_owned()
    } else {
        cleaned
    }
}

/// PEP 503 normalized project name: lowercase, runs of `-_.` become `-`.
pub fn normalize_project(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
            continue;
        }
        if separator && !out.is_empty() {
            out.push('-');
        }
        separator = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A full 40-hex git commit id.
pub fn is_full_commit(rev: &str) -> bool {
    rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names() {
        for good in ["testinstance", "a", "lab-1.prod_2", &"x".repeat(64)] {
            assert!(InstanceName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            ".hidden",
            "-x",
            "a b",
            &"x".repeat(65),
            "é",
        ] {
            assert!(InstanceName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn component_names_cannot_leave_src() {
        for bad in [
            "",
            "..",
            ".",
            "../../pwned",
            "a/b",
            "/abs",
            "-rf",
            "x\0y",
            "a\\b",
        ] {
            assert!(ComponentName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ComponentName::parse("lava-server").is_ok());
        assert!(
            toml::from_str::<std::collections::BTreeMap<ComponentName, u8>>("\"../x\" = 1")
                .is_err()
        );
    }

    #[test]
    fn release_names() {
        assert_eq!(release_number("0003-2012.07"), Some(3));
        assert_eq!(release_number("12345-x"), Some(12345));
        assert_eq!(release_number("current"), None);
        assert_eq!(release_number(".tmp-0001-x"), None);
        assert_eq!(
            ReleaseName::new(3, "2012.07 final/x").as_str(),
            "0003-2012.07_final_x"
        );
        assert_eq!(ReleaseName::new(1, "...").as_str(), "0001-release");
        assert!(ReleaseName::parse("0001-../x").is_err());
        assert_eq!(ReleaseName::parse("0012-a").unwrap().number(), 12);
    }

    #[test]
    fn pep503_names() {
        assert_eq!(normalize_project("ruamel.yaml"), "ruamel-yaml");
        assert_eq!(normalize_project("Jinja2"), "jinja2");
        assert_eq!(normalize_project("typing__Extensions"), "typing-extensions");
        assert_eq!(normalize_project("a-_.b"), "a-b");
    }
}
