//! Python versions (PEP 440) as far as lava-deploy needs them: checking a
//! version the manifest gives; ordering versions and testing specifiers
//! (packaging's rules per operator), which zc.buildout's `[versions]` and
//! egg lines need; and turning `git describe --tags` of a pinned commit into
//! the version a setuptools-scm build would have found in git, for trees
//! that are exported without `.git`.

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

/// Whether `text` is a version as PEP 440 (and so pip, uv and setuptools)
/// accepts it, in any of its permitted spellings (`v1.0`, `1.0-1`, `1.0RC1`).
pub fn is_valid(text: &str) -> bool {
    text.trim() == text && Version::parse(text, false).is_some()
}

/// The version for a tree at `distance` commits past `tag` (`None`: no tag
/// with a digit reachable, `distance` then counts every commit), with the
/// abbreviated commit `short`.
///
/// - at a tag: the tag's version (a leading `v` or `name-` prefix dropped,
///   as setuptools-scm's default `tag_regex` does);
/// - past a tag: `TAG.postN+gSHORT` — a post-release of the tag, which is
///   what the tree is, with the commit in the local part; no guessing of
///   the next release (setuptools-scm's default `guess-next-dev` would make
///   `2026.07-3-g…` into `2026.8.dev3`, a version LAVA never released);
/// - past a tag that already has a post, dev or local part (rare): the
///   distance and commit go into the local part (`1.0.dev1+3.gSHORT`);
/// - no usable tag: `0.0.postN+gSHORT`.
pub fn from_describe(tag: Option<&str>, distance: usize, short: &str) -> String {
    let version = tag.and_then(tag_version);
    match version {
        Some(version) if distance == 0 => version.to_owned(),
        Some(version) => {
            let parsed =
                Version::parse(version, false).expect("tag_version returns valid versions");
            if !parsed.local.is_empty() {
                format!("{version}.{distance}.g{short}")
            } else if parsed.post.is_some() || parsed.dev.is_some() {
                format!("{version}+{distance}.g{short}")
            } else {
                format!("{version}.post{distance}+g{short}")
            }
        }
        None => format!("0.0.post{distance}+g{short}"),
    }
}

/// The version a tag names: the tag itself, without a leading `v`, or what
/// follows a `name-` prefix (`lava-2026.07`).
fn tag_version(tag: &str) -> Option<&str> {
    fn strip_v(s: &str) -> &str {
        match s.strip_prefix(['v', 'V']) {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
            _ => s,
        }
    }
    std::iter::once(tag)
        .chain(tag.match_indices('-').map(|(at, _)| &tag[at + 1..]))
        .map(strip_v)
        .find(|candidate| is_valid(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_versions() {
        for good in [
            "1",
            "1.0",
            "2026.07",
            "v1.2.3",
            "1!2.0",
            "1.0a1",
            "1.0-rc.2",
            "1.0RC1",
            "1.0.post1",
            "1.0-1",
            "1.0.rev",
            "1.0.dev",
            "1.0.dev3",
            "1.0a1.post2.dev3",
            "1.0+local.7",
            "1.0+abc-def_1",
            "1.0c1",
            // packaging allows a separator after `dev` with no number.
            "1.0-dev-",
        ] {
            assert!(is_valid(good), "{good}");
        }
        for bad in [
            "",
            "latest",
            "v",
            "1.",
            ".1",
            "1.0-",
            "1.0+",
            "1.0+a..b",
            "1.0 ",
            "1.0.x",
            "main",
            "abc1234",
            "1.0.post1.post2",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn describe_to_version() {
        assert_eq!(from_describe(Some("2026.07"), 0, "bf31150"), "2026.07");
        assert_eq!(
            from_describe(Some("2026.07"), 3, "abc1234"),
            "2026.07.post3+gabc1234"
        );
        assert_eq!(from_describe(Some("v1.2"), 0, "abc1234"), "1.2");
        assert_eq!(from_describe(Some("lava-2026.07"), 0, "abc1234"), "2026.07");
        assert_eq!(
            from_describe(Some("1.0.dev1"), 2, "abc1234"),
            "1.0.dev1+2.gabc1234"
        );
        assert_eq!(
            from_describe(Some("1.0+deb1"), 2, "abc1234"),
            "1.0+deb1.2.gabc1234"
        );
        assert_eq!(from_describe(None, 5, "abc1234"), "0.0.post5+gabc1234");
        assert_eq!(
            from_describe(Some("release-x1y"), 4, "abc1234"),
            "0.0.post4+gabc1234"
        );
        for (tag, distance) in [("1.0.post1", 2), ("1.0rc1", 2), ("1!2.0", 1)] {
            assert!(is_valid(&from_describe(Some(tag), distance, "abc1234")));
        }
    }

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
