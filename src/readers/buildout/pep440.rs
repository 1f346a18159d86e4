//! PEP 440 versions and version specifiers, as far as zc.buildout uses them
//! on a configuration: which specifiers are valid (packaging's rules per
//! operator), their canonical text, and whether a `[versions]` pin satisfies
//! an egg's own specifier (zc.buildout's `_constrained_requirement`).

use std::cmp::Ordering;

/// A parsed version: `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`.
#[derive(Debug, Clone)]
pub struct Version {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Vec<String>,
    /// `N.N.*` (only in `==`/`!=` specifiers).
    wildcard: bool,
}

fn number(s: &str) -> (Option<u64>, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (s[..end].parse().ok(), &s[end..])
}

fn separator(s: &str) -> &str {
    s.strip_prefix(['-', '_', '.']).unwrap_or(s)
}

/// The first of `words` that `s` starts with (longest listed first).
fn word<'a>(s: &'a str, words: &[&'static str]) -> Option<(&'static str, &'a str)> {
    words
        .iter()
        .find_map(|w| s.strip_prefix(w).map(|rest| (*w, rest)))
}

impl Version {
    /// packaging's `VERSION_PATTERN` (surrounding spaces allowed), plus a
    /// trailing `.*` when `wildcard` may be used.
    pub fn parse(text: &str, wildcard_ok: bool) -> Option<Version> {
        let lower = text.trim().to_ascii_lowercase();
        let mut s = lower.strip_prefix('v').unwrap_or(&lower);
        let (first, rest) = number(s);
        let mut first = first?;
        let mut epoch = 0;
        if let Some(after) = rest.strip_prefix('!') {
            epoch = first;
            let (n, rest) = number(after);
            first = n?;
            s = rest;
        } else {
            s = rest;
        }
        let mut release = vec![first];
        while let Some(after) = s.strip_prefix('.') {
            match number(after) {
                (Some(n), rest) => {
                    release.push(n);
                    s = rest;
                }
                _ => break,
            }
        }
        let mut version = Version {
            epoch,
            release,
            pre: None,
            post: None,
            dev: None,
            local: Vec::new(),
            wildcard: false,
        };
        if wildcard_ok && s == ".*" {
            version.wildcard = true;
            return Some(version);
        }
        let pre_words = ["alpha", "beta", "preview", "pre", "rc", "a", "b", "c"];
        if let Some((w, rest)) = word(separator(s), &pre_words) {
            let kind = match w {
                "alpha" | "a" => 0,
                "beta" | "b" => 1,
                _ => 2,
            };
            let (n, rest) = number(separator(rest));
            version.pre = Some((kind, n.unwrap_or(0)));
            s = rest;
        }
        if let (Some(n), rest) = s.strip_prefix('-').map(number).unwrap_or((None, s)) {
            version.post = Some(n);
            s = rest;
        } else if let Some((_, rest)) = word(separator(s), &["post", "rev", "r"]) {
            let (n, rest) = number(separator(rest));
            version.post = Some(n.unwrap_or(0));
            s = rest;
        }
        if let Some(rest) = separator(s).strip_prefix("dev") {
            let (n, rest) = number(separator(rest));
            version.dev = Some(n.unwrap_or(0));
            s = rest;
        }
        if let Some(local) = s.strip_prefix('+') {
            let parts: Vec<&str> = local.split(['-', '_', '.']).collect();
            if parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                return None;
            }
            version.local = parts.into_iter().map(str::to_owned).collect();
            s = "";
        }
        s.is_empty().then_some(version)
    }

    fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The version without pre/post/dev/local parts.
    fn base(&self) -> Version {
        Version {
            epoch: self.epoch,
            release: self.release.clone(),
            pre: None,
            post: None,
            dev: None,
            local: Vec::new(),
            wildcard: false,
        }
    }

    fn public(&self) -> Version {
        Version {
            local: Vec::new(),
            ..self.clone()
        }
    }

    /// packaging's `_cmpkey` order.
    fn key(&self) -> SortKey {
        let mut release = self.release.clone();
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        let pre = match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => (-1, 0, 0),
            (None, _, _) => (1, 0, 0),
            (Some((kind, n)), _, _) => (0, kind, n),
        };
        let post = self.post.map_or((-1, 0), |n| (0, n));
        let dev = self.dev.map_or((1, 0), |n| (0, n));
        (self.epoch, release, pre, post, dev)
    }

    fn local_cmp(&self, other: &Version) -> Ordering {
        // Numeric parts sort after alphanumeric ones; no local sorts first.
        let part = |p: &String| match p.parse::<u64>() {
            Ok(n) => (1, n, String::new()),
            Err(_) => (0, 0, p.clone()),
        };
        let mine: Vec<_> = self.local.iter().map(part).collect();
        let theirs: Vec<_> = other.local.iter().map(part).collect();
        mine.cmp(&theirs)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key()
            .cmp(&other.key())
            .then_with(|| self.local_cmp(other))
    }
}

/// Epoch, release without trailing zeros, pre, post, dev.
type SortKey = (u64, Vec<u64>, (i8, u8, u64), (i8, u64), (i8, u64));

pub const OPERATORS: [&str; 8] = ["===", "==", "~=", "!=", "<=", ">=", "<", ">"];

/// One valid specifier, split into operator and version text as written.
pub fn split_specifier(text: &str) -> Option<(&'static str, String)> {
    let text = text.trim();
    let (op, rest) = word(text, &OPERATORS)?;
    let version = rest.trim().to_owned();
    if version.is_empty() || version.contains(char::is_whitespace) {
        return None;
    }
    if op == "===" {
        return (!version.contains([';', ')'])).then_some((op, version));
    }
    let parsed = Version::parse(&version, matches!(op, "==" | "!="))?;
    let ok = match op {
        "==" | "!=" => true,
        "~=" => parsed.local.is_empty() && parsed.release.len() >= 2,
        _ => parsed.local.is_empty(),
    };
    ok.then_some((op, version))
}

/// A comma-separated list of specifiers in packaging's canonical text
/// (each `OPversion`, sorted, without duplicates); `None` when invalid.
pub fn canonical_set(text: &str) -> Option<Vec<String>> {
    let mut specs = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (op, version) = split_specifier(item)?;
        specs.push(format!("{op}{version}"));
    }
    specs.sort();
    specs.dedup();
    Some(specs)
}

/// Whether `version` satisfies every specifier (pre-releases allowed).
pub fn set_contains(specs: &[String], version: &str) -> bool {
    let Some(candidate) = Version::parse(version, false) else {
        return specs.is_empty();
    };
    specs.iter().all(|spec| {
        let (op, text) = split_specifier(spec).expect("canonical specifiers are valid");
        contains(op, &text, &candidate, version)
    })
}

fn contains(op: &str, spec: &str, candidate: &Version, raw: &str) -> bool {
    if op == "===" {
        return raw.trim().eq_ignore_ascii_case(spec);
    }
    let spec = Version::parse(spec, true).expect("a valid specifier");
    let equal = |spec: &Version| {
        if spec.wildcard {
            let mut release = candidate.release.clone();
            release.resize(release.len().max(spec.release.len()), 0);
            candidate.epoch == spec.epoch && release[..spec.release.len()] == spec.release[..]
        } else if spec.local.is_empty() {
            candidate.public() == *spec
        } else {
            candidate == spec
        }
    };
    match op {
        "==" => equal(&spec),
        "!=" => !equal(&spec),
        "<=" => candidate.public() <= spec,
        ">=" => candidate.public() >= spec,
        "<" => {
            *candidate < spec
                && !(!spec.is_prerelease()
                    && candidate.is_prerelease()
                    && candidate.base() == spec.base())
        }
        ">" => {
            *candidate > spec
                && !(spec.post.is_none()
                    && candidate.post.is_some()
                    && candidate.base() == spec.base())
                // A local version of the spec's own version is not above it.
                && (candidate.local.is_empty() || candidate.base() != spec.base())
        }
        "~=" => {
            let mut prefix = spec.base();
            prefix.release.pop();
            prefix.wildcard = true;
            candidate.public() >= spec && equal(&prefix)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s, false).unwrap()
    }

    #[test]
    fn parse_and_order() {
        assert!(v("1.0") == v("1.0.0"));
        assert!(v("1.0rc1") < v("1.0"));
        assert!(v("1.0.dev1") < v("1.0a1"));
        assert!(v("1.0") < v("1.0.post1"));
        assert!(v("1!0.1") > v("2.0"));
        assert!(v("1.0+abc") > v("1.0"));
        assert!(v("V1.0-1") == v("1.0.post1"));
        for bad in ["abc", "1.0.", "1.0+", "1..0", "1.0 beta"] {
            assert!(Version::parse(bad, false).is_none(), "{bad}");
        }
    }

    #[test]
    fn specifiers() {
        assert_eq!(canonical_set(" >= 1.0 , <2").unwrap(), ["<2", ">=1.0"]);
        for bad in ["==", "~=1", "<1.0+local", ">=1.0.*", "==abc", "=1.0"] {
            assert!(canonical_set(bad).is_none(), "{bad}");
        }
        let set = |s: &str| canonical_set(s).unwrap();
        assert!(set_contains(&set(">=1.0,<3"), "2.0"));
        assert!(!set_contains(&set(">=2"), "1.0"));
        assert!(!set_contains(&set("<2"), "2.0rc1"));
        assert!(set_contains(&set("==1.*"), "1.5"));
        assert!(set_contains(&set("~=1.4"), "1.9"));
        assert!(!set_contains(&set("~=1.4.2"), "1.5"));
        assert!(set_contains(&set(""), "abc"));
        assert!(!set_contains(&set(">=1"), "abc"));
    }
}
