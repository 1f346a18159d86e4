//! PEP 508 requirements and environment markers, as packaging (which
//! zc.buildout and pip use) parses them: `name [extras] specifiers ; marker`
//! or `name @ url` (over `pep440` for the specifiers). A zc.buildout `eggs`
//! line is one (`parse_line`); a native manifest's `marker` is the marker
//! part. The marker is kept in packaging's canonical text, for the
//! installer to evaluate against the release's Python, as zc.buildout
//! evaluates it against its own.

use crate::core::names::normalize_project;
use crate::core::pep440;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    /// As pkg_resources spells them: lowercased, runs of other characters
    /// than `[A-Za-z0-9.-]` as `_`; sorted, once each.
    pub extras: Vec<String>,
    /// Canonical specifiers (`>=1.0`), sorted.
    pub specs: Vec<String>,
    pub url: Option<String>,
    pub marker: Option<String>,
}

/// A line as pkg_resources' `Requirement.parse` takes it: a comment
/// after ` #` is dropped; a comment line, or a line continued with `\`
/// into nothing, holds no requirement.
pub fn parse_line(line: &str) -> Result<Requirement, String> {
    let line = line.trim();
    if line.starts_with('#') {
        return Err("is a comment, not a requirement".into());
    }
    let line = line.split(" #").next().unwrap_or_default();
    if line.ends_with('\\') {
        return Err("continues with '\\' into nothing".into());
    }
    parse(line)
}

pub fn parse(text: &str) -> Result<Requirement, String> {
    let mut c = Cursor { s: text, at: 0 };
    c.ws();
    let name = c
        .identifier()
        .ok_or("expected a package name at the start")?;
    c.ws();
    let mut extras = Vec::new();
    if c.eat("[") {
        c.ws();
        if let Some(first) = c.identifier() {
            extras.push(first);
            loop {
                c.ws();
                if !c.eat(",") {
                    break;
                }
                c.ws();
                extras.push(
                    c.identifier()
                        .ok_or("expected an extra name after a comma")?,
                );
            }
        }
        c.ws();
        if !c.eat("]") {
            return Err("expected ']' after the extras".into());
        }
        c.ws();
    }
    let mut extras: Vec<String> = extras.iter().map(|e| safe_extra(e)).collect();
    extras.sort();
    extras.dedup();
    let mut requirement = Requirement {
        name,
        extras,
        specs: Vec::new(),
        url: None,
        marker: None,
    };
    if c.eat("@") {
        c.ws();
        let url = c.take_while(|ch| !ch.is_whitespace());
        if url.is_empty() {
            return Err("expected a URL after '@'".into());
        }
        requirement.url = Some(url.to_owned());
        if c.rest().is_empty() {
            return Ok(requirement);
        }
        if c.ws() == 0 {
            return Err("expected whitespace after the URL".into());
        }
        if c.rest().is_empty() {
            return Ok(requirement);
        }
    } else {
        let parens = c.eat("(");
        let region = c.take_while(|ch| ch != ';' && ch != ')');
        requirement.specs = specifiers(region)?;
        if parens {
            if !c.eat(")") {
                return Err("expected ')' after the version specifier".into());
            }
            c.ws();
        }
        if c.rest().is_empty() {
            return Ok(requirement);
        }
    }
    if !c.eat(";") {
        return Err("expected ';' before an environment marker, or the end".into());
    }
    let marker = marker(&mut c, 0)?;
    if !c.rest().is_empty() {
        return Err(format!("unexpected {:?} after the marker", c.rest()));
    }
    requirement.marker = Some(format(&marker, true));
    Ok(requirement)
}

/// A specifier list as the requirement grammar takes it: items separated by
/// commas, a trailing comma allowed.
fn specifiers(region: &str) -> Result<Vec<String>, String> {
    let trimmed = region.trim_matches([' ', '\t']);
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let body = trimmed
        .strip_suffix(',')
        .filter(|b| !b.trim().is_empty())
        .unwrap_or(trimmed);
    let printable = body.chars().all(|c| c == '\t' || (' '..='~').contains(&c));
    if body.split(',').any(|item| item.trim().is_empty()) || !printable {
        return Err(format!("{trimmed:?} is not a list of version specifiers"));
    }
    pep440::canonical_set(body).ok_or_else(|| {
        format!("{trimmed:?} is not a valid version specifier (like ==1.0, >=1.0,<2)")
    })
}

#[derive(Debug)]
enum Node {
    Item(String, String, String),
    Group(Vec<Node>),
    Logic(String),
}

const MAX_NESTING: usize = 200;

/// `marker = atom (("and"|"or") atom)*`
fn marker(c: &mut Cursor, depth: usize) -> Result<Vec<Node>, String> {
    let mut nodes = vec![atom(c, depth)?];
    while let Some(op) = ["or", "and"].into_iter().find(|op| c.keyword(op)) {
        nodes.push(Node::Logic(op.to_owned()));
        nodes.push(atom(c, depth)?);
    }
    Ok(nodes)
}

fn atom(c: &mut Cursor, depth: usize) -> Result<Node, String> {
    c.ws();
    let node = if c.eat("(") {
        if depth >= MAX_NESTING {
            return Err("the marker is nested too deeply".into());
        }
        let inner = marker(c, depth + 1)?;
        if !c.eat(")") {
            return Err("expected ')' in the marker".into());
        }
        Node::Group(inner)
    } else {
        let left = marker_var(c)?;
        c.ws();
        let op = marker_op(c)?;
        c.ws();
        let right = marker_var(c)?;
        normalize_extra(left, op, right)
    };
    c.ws();
    Ok(node)
}

/// `(is_variable, text)`
fn marker_var(c: &mut Cursor) -> Result<(bool, String), String> {
    const VARIABLES: [&str; 16] = [
        "python_version",
        "python_full_version",
        "os_name",
        "sys_platform",
        "platform_release",
        "platform_system",
        "platform_version",
        "platform_machine",
        "platform_python_implementation",
        "python_implementation",
        "implementation_name",
        "implementation_version",
        "extras",
        "extra",
        "dependency_groups",
        "os.name",
    ];
    const DOTTED: [&str; 4] = [
        "sys.platform",
        "platform.version",
        "platform.machine",
        "platform.python_implementation",
    ];
    if let Some(name) = VARIABLES.iter().chain(DOTTED.iter()).find(|v| c.keyword(v)) {
        let name = name.replace('.', "_");
        let name = if name == "python_implementation" {
            "platform_python_implementation".to_owned()
        } else {
            name
        };
        return Ok((true, name));
    }
    for quote in ['\'', '"'] {
        if c.rest().starts_with(quote) {
            let Some(end) = c.rest()[1..].find(quote) else {
                break;
            };
            let value = c.rest()[1..1 + end].to_owned();
            c.at += end + 2;
            return Ok((false, value));
        }
    }
    Err(format!(
        "expected a marker variable or a quoted string at {:?}",
        c.rest()
    ))
}

fn marker_op(c: &mut Cursor) -> Result<String, String> {
    if c.keyword("in") {
        return Ok("in".into());
    }
    if c.keyword("not") {
        if c.ws() == 0 || !c.keyword("in") {
            return Err("expected 'not in'".into());
        }
        return Ok("not in".into());
    }
    for op in pep440::OPERATORS {
        if c.eat(op) {
            return Ok(op.to_owned());
        }
    }
    Err("expected a marker operator (<=, <, !=, ==, >=, >, ~=, ===, in, not in)".into())
}

/// packaging's `_normalize_extras`: the literal compared with `extra`, or
/// tested for membership in `extras`/`dependency_groups`, is normalized.
fn normalize_extra(left: (bool, String), op: String, right: (bool, String)) -> Node {
    let (mut left, mut right) = (left, right);
    if left.0 && left.1 == "extra" && !right.0 {
        right.1 = normalize_project(&right.1);
    } else if right.0
        && !left.0
        && matches!(right.1.as_str(), "extra" | "extras" | "dependency_groups")
    {
        left.1 = normalize_project(&left.1);
    }
    let render = |(is_var, text): (bool, String)| match (is_var, text.contains('"')) {
        (true, _) => text,
        (false, false) => format!("\"{text}\""),
        (false, true) => format!("'{text}'"),
    };
    Node::Item(render(left), op, render(right))
}

/// packaging's `_format_marker`.
fn format(nodes: &[Node], first: bool) -> String {
    if let [Node::Group(inner)] = nodes {
        return format(inner, first);
    }
    let inner: Vec<String> = nodes
        .iter()
        .map(|n| match n {
            Node::Item(l, op, r) => format!("{l} {op} {r}"),
            Node::Logic(op) => op.clone(),
            Node::Group(inner) => format(inner, false),
        })
        .collect();
    if first || nodes.len() == 1 {
        inner.join(" ")
    } else {
        format!("({})", inner.join(" "))
    }
}

/// pkg_resources' `safe_extra`.
fn safe_extra(extra: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for c in extra.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out
}

struct Cursor<'a> {
    s: &'a str,
    at: usize,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.at..]
    }

    /// `[ \t]+`; how many bytes were skipped.
    fn ws(&mut self) -> usize {
        self.take_while(|c| c == ' ' || c == '\t').len()
    }

    fn eat(&mut self, token: &str) -> bool {
        let found = self.rest().starts_with(token);
        if found {
            self.at += token.len();
        }
        found
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c: char| !keep(c)).unwrap_or(rest.len());
        self.at += end;
        &rest[..end]
    }

    fn before_is_word(&self) -> bool {
        self.s[..self.at].chars().last().is_some_and(is_word)
    }

    /// `\bword\b`
    fn keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let ends = rest
            .strip_prefix(word)
            .is_some_and(|after| !after.starts_with(is_word));
        if ends && !self.before_is_word() {
            self.at += word.len();
            return true;
        }
        false
    }

    /// `\b[a-zA-Z0-9][a-zA-Z0-9._-]*\b`
    fn identifier(&mut self) -> Option<String> {
        let rest = self.rest();
        if !rest.starts_with(|c: char| c.is_ascii_alphanumeric()) || self.before_is_word() {
            return None;
        }
        let mut end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
            .unwrap_or(rest.len());
        let next_is_word = rest[end..].starts_with(is_word);
        while !next_is_word && rest[..end].ends_with(['.', '-']) {
            end -= 1;
        }
        self.at += end;
        Some(rest[..end].to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Requirement {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn requirements_as_packaging_reads_them() {
        let r = ok("Foo.Bar[X-Y, a_b]  >= 1.0 , <2 ");
        assert_eq!(r.name, "Foo.Bar");
        assert_eq!(r.extras, ["a_b", "x-y"]);
        assert_eq!(r.specs, ["<2", ">=1.0"]);
        assert_eq!(ok("foo (==1.0)").specs, ["==1.0"]);
        assert_eq!(ok("foo[]").extras, Vec::<String>::new());
        assert_eq!(
            ok("foo @ http://x/y.tgz").url.as_deref(),
            Some("http://x/y.tgz")
        );
        assert_eq!(ok("foo>=1.0,").specs, [">=1.0"]);
        let marker = |t: &str| ok(t).marker.unwrap();
        assert_eq!(marker("foo;python_version<'3'"), "python_version < \"3\"");
        assert_eq!(
            marker("foo; os.name == \"posix\" and (sys_platform==\"linux\" or python_implementation=='CPython')"),
            "os_name == \"posix\" and (sys_platform == \"linux\" or platform_python_implementation == \"CPython\")"
        );
        assert_eq!(marker("foo ==1.0 ; extra == \"X_y\""), "extra == \"x-y\"");
        assert_eq!(marker("foo; ((os_name == 'a'))"), "os_name == \"a\"");
        assert_eq!(marker("foo; 'a' not in os_name"), "\"a\" not in os_name");
    }

    #[test]
    fn lines_packaging_refuses() {
        for bad in [
            "foo==1.0 ; ",
            "foo; ",
            "foo ;python_version",
            "foo==",
            "foo bar",
            "-foo",
            "foo[",
            "foo (>=1.0",
            "foo~=1",
            "foo<1.0+local",
            "foo;os_name==\"a\" and",
            "foo>=1.0.*",
            "foo=1.0",
            "foo>=1.0,,<2",
            "foo; python_versionx < '3'",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
