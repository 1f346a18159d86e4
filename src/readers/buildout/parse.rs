//! zc.buildout's configuration syntax, line by line, as its own parser
//! reads it: `[section]` headers, `key = value`, `+=`/`-=`, indented
//! continuation lines, `#`/`;` comment lines.

use crate::core::model::{Location, ManifestError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Set,
    Add,
    Remove,
}

#[derive(Debug, Clone)]
pub struct RawOption {
    pub key: String,
    pub op: Op,
    pub value: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct RawSection {
    pub name: String,
    pub options: Vec<RawOption>,
}

/// Sections in file order; a section repeated in the file appears twice.
pub fn parse(file: &str, text: &str, errors: &mut Vec<ManifestError>) -> Vec<RawSection> {
    let mut sections: Vec<RawSection> = Vec::new();
    // The option being read: its first-line data and continuation lines.
    let mut open: Option<(RawOption, Vec<&str>)> = None;
    let error = |line: usize, message: String| ManifestError {
        at: Location {
            file: file.to_owned(),
            line: Some(line),
        },
        message,
    };
    let close = |open: &mut Option<(RawOption, Vec<&str>)>, sections: &mut Vec<RawSection>| {
        if let Some((mut option, continuation)) = open.take() {
            option.value = assemble(&option.value, &continuation);
            if let Some(section) = sections.last_mut() {
                section.options.push(option);
            }
        }
    };
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.trim().is_empty() || line.starts_with(char::is_whitespace) {
            match &mut open {
                Some((_, continuation)) => continuation.push(line),
                None if line.trim().is_empty() => {}
                None => errors.push(error(
                    number,
                    format!("indented line {:?} continues no option", line.trim()),
                )),
            }
            continue;
        }
        close(&mut open, &mut sections);
        if let Some(header) = line.strip_prefix('[') {
            let Some(name) = header.trim_end().strip_suffix(']') else {
                errors.push(error(
                    number,
                    format!("section header {line:?} has no closing ']'"),
                ));
                continue;
            };
            let name = name.trim();
            if name.contains(':') {
                errors.push(error(
                    number,
                    format!("conditional section [{name}] is not supported by lava-deploy; remove the condition"),
                ));
            }
            sections.push(RawSection {
                name: name.to_owned(),
                options: Vec::new(),
            });
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            let message = if line.contains(':') {
                format!("{line:?} uses ':'; zc.buildout options are written `key = value`")
            } else {
                format!(
                    "{line:?} is not an option, a section header or an indented continuation line"
                )
            };
            errors.push(error(number, message));
            continue;
        };
        let key = key.trim_end();
        let (key, op) = if let Some(key) = key.strip_suffix('+') {
            (key.trim_end(), Op::Add)
        } else if let Some(key) = key.strip_suffix('-') {
            (key.trim_end(), Op::Remove)
        } else {
            (key, Op::Set)
        };
        if sections.is_empty() {
            errors.push(error(
                number,
                format!("option {key} comes before any [section]"),
            ));
            continue;
        }
        open = Some((
            RawOption {
                key: key.to_owned(),
                op,
                value: value.trim().to_owned(),
                line: number,
            },
            Vec::new(),
        ));
    }
    close(&mut open, &mut sections);
    sections
}

/// A value as zc.buildout keeps it: with data on the first line, every
/// continuation line stripped and blank ones dropped; with an empty first
/// line, the block dedented, leading blank lines removed.
fn assemble(first: &str, continuation: &[&str]) -> String {
    if !first.is_empty() {
        let mut lines = vec![first.to_owned()];
        lines.extend(
            continuation
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
        return lines.join("\n");
    }
    let block: Vec<&str> = continuation
        .iter()
        .copied()
        .skip_while(|l| l.trim().is_empty())
        .collect();
    let indent = block
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let dedented: Vec<&str> = block
        .iter()
        .map(|l| {
            if l.trim().is_empty() {
                ""
            } else {
                &l[indent.min(l.len())..]
            }
        })
        .map(str::trim_end)
        .collect();
    dedented.join("\n").trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (Vec<RawSection>, Vec<ManifestError>) {
        let mut errors = Vec::new();
        let sections = parse("b.cfg", text, &mut errors);
        (sections, errors)
    }

    #[test]
    fn values_and_continuations() {
        let (sections, errors) = parsed(
            "[buildout]\nparts = a\n  b\n\n  c\n# comment\nversions=versions\n[server]\neggs =\n    lava-server\n# inside\n    lava-dispatcher\n\ninitialization = x\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let buildout = &sections[0].options;
        assert_eq!(buildout[0].value, "a\nb\nc");
        assert_eq!(buildout[1].key, "versions");
        assert_eq!(sections[1].options[0].value, "lava-server\nlava-dispatcher");
        assert_eq!(sections[1].options[1].line, 14);
    }

    #[test]
    fn operators_and_errors() {
        let (sections, errors) =
            parsed("[a]\neggs += x\neggs -= y\nkey: value\norphan line\n[b:python3]\n");
        assert_eq!(sections[0].options[0].op, Op::Add);
        assert_eq!(sections[0].options[1].op, Op::Remove);
        assert_eq!(errors.len(), 3);
        assert_eq!(errors[0].at.line, Some(4));
        assert!(errors[0].message.contains("uses ':'"));
        assert_eq!(errors[1].at.line, Some(5));
        assert!(errors[2].message.contains("conditional"));
    }
}
