//! Python versions (PEP 440) as far as lava-deploy needs them: checking a
//! version the manifest gives, and turning `git describe --tags` of a
//! pinned commit into the version a setuptools-scm build would have found
//! in git, for trees that are exported without `.git`.

/// The optional parts of a version that decide how a distance can be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    post: bool,
    dev: bool,
    local: bool,
}

/// Whether `text` is a version as PEP 440 (and so pip, uv and setuptools)
/// accepts it, in any of its permitted spellings (`v1.0`, `1.0-1`, `1.0RC1`).
pub fn is_valid(text: &str) -> bool {
    parse(text).is_some()
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
            let parts = parse(version).expect("tag_version returns valid versions");
            if parts.local {
                format!("{version}.{distance}.g{short}")
            } else if parts.post || parts.dev {
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

/// PEP 440's grammar (packaging's `VERSION_PATTERN`), case-insensitive,
/// without surrounding spaces.
fn parse(text: &str) -> Option<Parts> {
    let lower = text.to_ascii_lowercase();
    let mut p = Cursor {
        s: lower.as_bytes(),
        at: 0,
    };
    p.eat(b"v");
    // Epoch or the first release number.
    p.digits()?;
    if p.eat(b"!") {
        p.digits()?;
    }
    while p.peek() == Some(b'.') && p.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        p.at += 1;
        p.digits();
    }
    // Pre-release: [sep] (alpha|a|beta|b|preview|pre|c|rc) [sep] [N]
    let mark = p.at;
    p.separator();
    if p.word(&["alpha", "beta", "preview", "pre", "rc", "a", "b", "c"]) {
        p.number_after_separator();
    } else {
        p.at = mark;
    }
    // Post-release: -N, or [sep] (post|rev|r) [sep] [N]
    let mut post = false;
    let mark = p.at;
    if p.eat(b"-") && p.digits().is_some() {
        post = true;
    } else {
        p.at = mark;
        p.separator();
        if p.word(&["post", "rev", "r"]) {
            p.number_after_separator();
            post = true;
        } else {
            p.at = mark;
        }
    }
    // Development release: [sep] dev [sep] [N]
    let mut dev = false;
    let mark = p.at;
    p.separator();
    if p.word(&["dev"]) {
        p.number_after_separator();
        dev = true;
    } else {
        p.at = mark;
    }
    // Local version: + alnum ([sep] alnum)*
    let mut local = false;
    if p.eat(b"+") {
        p.alnum()?;
        while p.separator() {
            p.alnum()?;
        }
        local = true;
    }
    (p.at == p.s.len()).then_some(Parts { post, dev, local })
}

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.s.get(self.at + ahead).copied()
    }

    fn eat(&mut self, literal: &[u8]) -> bool {
        let found = self.s[self.at..].starts_with(literal);
        if found {
            self.at += literal.len();
        }
        found
    }

    fn word(&mut self, words: &[&str]) -> bool {
        words.iter().any(|w| self.eat(w.as_bytes()))
    }

    fn separator(&mut self) -> bool {
        matches!(self.peek(), Some(b'.' | b'-' | b'_')) && {
            self.at += 1;
            true
        }
    }

    fn run(&mut self, class: fn(&u8) -> bool) -> Option<()> {
        let start = self.at;
        while self.peek().as_ref().is_some_and(class) {
            self.at += 1;
        }
        (self.at > start).then_some(())
    }

    fn digits(&mut self) -> Option<()> {
        self.run(u8::is_ascii_digit)
    }

    fn alnum(&mut self) -> Option<()> {
        self.run(u8::is_ascii_alphanumeric)
    }

    /// `[sep] [N]` after a pre/post/dev word: a separator only counts when
    /// a number follows it.
    fn number_after_separator(&mut self) {
        let mark = self.at;
        self.separator();
        if self.digits().is_none() {
            self.at = mark;
        }
    }
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
            "1.0-dev-",
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
}
