//! One zc.buildout configuration file, line by line, as zc.buildout's own
//! parser (`zc.buildout.configparser.parse`) reads it: `[section]` headers
//! (a trailing `# comment` allowed), `key = value`, `key += value`,
//! `key -= value`, indented continuation lines, `#`/`;` comment lines.
//!
//! Within one section of one file, a repeated `+=`/`-=` extends the earlier
//! one and a later `=` discards them; `+=`/`-=` stay keys of their own
//! (`eggs +`, `eggs -`) for `config` to fold into the inherited value.

use super::omap::{is_py_space, py_rstrip, py_strip, OMap};
use crate::core::model::{Location, ManifestError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    pub at: Location,
}

pub type Section = OMap<Value>;
pub type Sections = OMap<Section>;

#[derive(Debug, Default)]
pub struct Parsed {
    pub sections: Sections,
    /// Where each section's first header is.
    pub headers: OMap<Location>,
}

/// The file's sections, or its errors (every unreadable line, as
/// zc.buildout lists them).
pub fn parse(file: &str, text: &str) -> Result<Parsed, Vec<ManifestError>> {
    let at = |line: usize| Location {
        file: file.to_owned(),
        line: Some(line),
    };
    let mut parsed = Parsed::default();
    let mut errors = Vec::new();
    let mut current: Option<String> = None;
    let mut option: Option<String> = None;
    let mut block = false;
    for (index, line) in split_lines(text).into_iter().enumerate() {
        let number = index + 1;
        if line.starts_with(['#', ';']) {
            continue;
        }
        // A blank line still has its newline, which is a space to Python.
        let starts_with_space = line.is_empty() || line.starts_with(is_py_space);
        if let (true, Some(section), Some(name)) = (starts_with_space, &current, &option) {
            let line = if block {
                py_rstrip(line)
            } else {
                py_strip(line)
            };
            if line.is_empty() && !block {
                continue;
            }
            let value = section_mut(&mut parsed, section)
                .get_mut(name)
                .expect("the open option exists");
            value.text = format!("{}\n{line}", value.text);
            continue;
        }
        if let Some((name, expression)) = section_header(line) {
            if !expression.is_empty() {
                errors.push(ManifestError {
                    at: at(number),
                    message: format!(
                        "conditional section [{name}:{expression}] is not supported by lava-deploy: \
                         write the section without the condition, or choose between the \
                         variants with different *.cfg files"
                    ),
                });
            }
            if !parsed.headers.contains_key(name) {
                parsed.headers.insert(name.to_owned(), at(number));
                parsed.sections.insert(name.to_owned(), Section::new());
            }
            current = Some(name.to_owned());
            option = None;
            continue;
        }
        let Some(section) = &current else {
            if py_strip(line).is_empty() {
                continue;
            }
            errors.push(ManifestError {
                at: at(number),
                message: format!(
                    "{line:?} comes before any [section] header; zc.buildout refuses such a file"
                ),
            });
            return Err(errors);
        };
        let line = match line.strip_prefix("=>") {
            Some(rest) => format!("<part-dependencies> = {rest}"),
            None => line.to_owned(),
        };
        let Some((key, op, value)) = option_start(&line) else {
            if option.is_none() && py_strip(&line).is_empty() {
                continue;
            }
            errors.push(ManifestError {
                at: at(number),
                message: bad_line_message(&line),
            });
            continue;
        };
        let options = section_mut(&mut parsed, section);
        match (op, options.get_mut(&key)) {
            (Some(_), Some(existing)) => {
                existing.text = py_rstrip(&existing.text).to_owned();
                if !value.is_empty() {
                    existing.text = format!("{}\n{value}", existing.text);
                }
            }
            _ => {
                if op.is_none() {
                    options.remove(&format!("{key} +"));
                    options.remove(&format!("{key} -"));
                }
                options.insert(
                    key.clone(),
                    Value {
                        text: value.clone(),
                        at: at(number),
                    },
                );
            }
        }
        block = value.is_empty();
        option = Some(key);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for section in parsed.sections.values_mut() {
        for value in section.values_mut() {
            if value.text.starts_with(is_py_space) {
                value.text = strip_leading_blank_lines(&dedent(py_rstrip(&value.text)));
            }
        }
    }
    Ok(parsed)
}

fn section_mut<'a>(parsed: &'a mut Parsed, name: &str) -> &'a mut Section {
    parsed
        .sections
        .get_mut(name)
        .expect("the current section exists")
}

/// Lines as Python's universal newlines make them (`\n`, `\r\n`, `\r`),
/// without their line breaks.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            Some(at) => {
                lines.push(&rest[..at]);
                let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[at + skip..];
            }
            None => {
                lines.push(rest);
                rest = "";
            }
        }
    }
    lines
}

/// `[name]` or `[name:expression]`, optionally followed by a `#`/`;`
/// comment: zc.buildout's `section_header` expression.
fn section_header(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('[')?.trim_start_matches(is_py_space);
    let end = rest
        .find(|c: char| is_py_space(c) || "#[]:;{}".contains(c))
        .unwrap_or(rest.len());
    let (name, rest) = rest.split_at(end);
    if name.is_empty() {
        return None;
    }
    let rest = rest.trim_start_matches(is_py_space);
    let tail_ok = |tail: &str| {
        let tail = tail.trim_start_matches(is_py_space);
        tail.is_empty() || tail.starts_with(['#', ';'])
    };
    if let Some(expression) = rest.strip_prefix(':') {
        // The expression runs to the last `]` before any `#`/`;`.
        let region = &expression[..expression.find(['#', ';']).unwrap_or(expression.len())];
        let close = region.rfind(']')?;
        return tail_ok(&expression[close + 1..]).then_some((name, &region[..close]));
    }
    let tail = rest.strip_prefix(']')?;
    tail_ok(tail).then_some((name, ""))
}

/// `name = value`, `name += value`, `name -= value`: zc.buildout's
/// `option_start`. The name has no spaces or `{}[]=:`; the key is all that
/// comes before `=` (`eggs +`), so `+=`/`-=` keep their own key. `eggs+= x`
/// (no space) is read as `eggs += x`, which is what its author meant:
/// zc.buildout itself sets an option `egg` when the section is new there.
fn option_start(line: &str) -> Option<(String, Option<char>, String)> {
    let end = line
        .find(|c: char| is_py_space(c) || "{}[]=:".contains(c))
        .unwrap_or(line.len());
    if end == 0 {
        return None;
    }
    let rest = line[end..].trim_start_matches(is_py_space);
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    let value = rest.strip_prefix('=')?;
    let mut key = py_rstrip(&line[..line.len() - value.len() - 1]).to_owned();
    let op = key.chars().last().filter(|c| matches!(c, '+' | '-'));
    if let Some(op) = op {
        let base = &key[..key.len() - 1];
        if !base.is_empty() && !base.ends_with(is_py_space) {
            key = format!("{base} {op}");
        }
    }
    Some((key, op, py_strip(value).to_owned()))
}

fn bad_line_message(line: &str) -> String {
    let trimmed = py_strip(line);
    let hint = if trimmed.starts_with('[') {
        "a section header is `[name]`: one word without spaces or `:#;{}[]`"
    } else if let Some((key, _)) = trimmed.split_once('=') {
        if key.contains(':') || key.contains(['{', '}', '[', ']']) {
            "an option name has no `:{}[]`"
        } else if key.trim_end().ends_with(['+', '-']) {
            "write `+=` and `-=` without a space inside"
        } else if key.trim().is_empty() {
            "the option has no name"
        } else {
            "an option name is one word without spaces"
        }
    } else if trimmed.contains(':') {
        "options are written `key = value`, not `key: value`"
    } else {
        "a value that continues on the next lines must be indented"
    };
    format!("zc.buildout cannot parse the line {trimmed:?}: {hint}")
}

/// Python's `textwrap.dedent`: the longest common leading run of spaces
/// and tabs is removed; lines of only spaces and tabs become empty.
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| {
            if l.chars().all(|c| c == ' ' || c == '\t') {
                ""
            } else {
                l
            }
        })
        .collect();
    let mut margin: Option<&str> = None;
    for line in lines.iter().filter(|l| !l.is_empty()) {
        let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        margin = Some(match margin {
            None => indent,
            Some(m) if indent.starts_with(m) => m,
            Some(m) if m.starts_with(indent) => indent,
            Some(m) => {
                let common = m
                    .bytes()
                    .zip(indent.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                &m[..common]
            }
        });
    }
    let margin = margin.unwrap_or("");
    lines
        .iter()
        .map(|l| l.strip_prefix(margin).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `^(\s*\n)+` removed: the value's leading blank lines.
fn strip_leading_blank_lines(text: &str) -> String {
    let mut rest = text;
    while let Some(newline) = rest.find('\n') {
        if rest[..newline].chars().all(is_py_space) {
            rest = &rest[newline + 1..];
        } else {
            break;
        }
    }
    rest.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(text: &str) -> Sections {
        parse("b.cfg", text).unwrap().sections
    }

    fn value(sections: &Sections, section: &str, key: &str) -> String {
        sections
            .get(section)
            .unwrap()
            .get(key)
            .unwrap()
            .text
            .clone()
    }

    #[test]
    fn values_and_continuations() {
        let s = sections(
            "[buildout] # the main section\nparts = a\n  b\n\n  c\n# comment\nversions=versions\n\
             [server]\neggs =\n    lava-server\n# inside\n\n      indented\n    lava-dispatcher\n\ninitialization = x\n",
        );
        assert_eq!(value(&s, "buildout", "parts"), "a\nb\nc");
        assert_eq!(value(&s, "buildout", "versions"), "versions");
        assert_eq!(
            value(&s, "server", "eggs"),
            "lava-server\n\n  indented\nlava-dispatcher"
        );
        let at = &s.get("server").unwrap().get("initialization").unwrap().at;
        assert_eq!(at.line, Some(16));
    }

    #[test]
    fn operators_within_one_file() {
        let s = sections(
            "[a]\neggs += x\neggs += y\neggs = z\nparts -= p\nparts+= q\nfind-links=\n  l\nfind-links += m\n",
        );
        let a = s.get("a").unwrap();
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            ["eggs", "parts -", "parts +", "find-links", "find-links +"]
        );
        assert_eq!(value(&s, "a", "eggs"), "z");
        assert_eq!(value(&s, "a", "parts +"), "q");
        let s = sections("[a]\neggs +=\n  x\neggs += y\n");
        assert_eq!(
            value(&s, "a", "eggs +"),
            "  x\ny",
            "zc.buildout keeps the indent"
        );
    }

    #[test]
    fn lines_zc_buildout_refuses() {
        let errors = parse(
            "b.cfg",
            "[a]\nmy option = 1\n[my section]\neggs + = b\n= b\nkey: value\n orphan\n[b:python3]\n",
        )
        .unwrap_err();
        let lines: Vec<_> = errors.iter().map(|e| e.at.line.unwrap()).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8]);
        assert!(errors[1].message.contains("section header"), "{errors:?}");
        assert!(errors[2].message.contains("without a space"), "{errors:?}");
        assert!(errors[6].message.contains("conditional"), "{errors:?}");
        let errors = parse("b.cfg", "\n# c\nparts = x\n[buildout]\n").unwrap_err();
        assert_eq!(errors[0].at.line, Some(3));
    }

    #[test]
    fn headers() {
        assert_eq!(section_header("[ a.b-c ] ; x"), Some(("a.b-c", "")));
        assert_eq!(section_header("[a:python3] # x"), Some(("a", "python3")));
        assert_eq!(section_header("[a:]"), Some(("a", "")));
        assert_eq!(section_header("[a] x"), None);
        assert_eq!(section_header("[a]]"), None);
        assert_eq!(section_header("[]"), None);
    }

    #[test]
    fn dedent_like_python() {
        assert_eq!(dedent("\n    a\n\n      b\n    c"), "\na\n\n  b\nc");
        assert_eq!(dedent("\n\ta\n  b"), "\n\ta\n  b");
        assert_eq!(strip_leading_blank_lines("\n  \na\n"), "a\n");
    }
}
