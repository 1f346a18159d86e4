//! The shape of the code, as ARCHITECTURE.md declares it: layers that
//! point one way, no cycles between modules, and the few rules that keep
//! each layer what it is. Reads `src/` as text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which layers each layer may use (itself included).
const ALLOWED: &[(&str, &[&str])] = &[
    ("core", &["core"]),
    ("readers", &["core", "readers"]),
    ("infra", &["core", "infra"]),
    ("store", &["core", "infra", "store"]),
    ("ops", &["core", "readers", "infra", "store", "ops"]),
    ("cli", &["core", "readers", "infra", "store", "ops", "cli"]),
];

/// Text that must not appear in a layer's code (comments excluded), and why.
const FORBIDDEN: &[(&str, &str, &str)] = &[
    ("core", "std::fs", "the core does no I/O"),
    ("core", "fs_err", "the core does no I/O"),
    ("core", "std::process", "the core runs no programs"),
    ("core", "git2", "the core does no I/O"),
    ("core", "reqwest", "the core does no I/O"),
    (
        "core",
        "tracing::",
        "the core reports through its return values",
    ),
    (
        "readers",
        "git2",
        "readers see branches only through BranchFiles",
    ),
    (
        "readers",
        "std::fs",
        "readers see branches only through BranchFiles",
    ),
    (
        "readers",
        "fs_err",
        "readers see branches only through BranchFiles",
    ),
    ("core", "clap", "clap types stay in the CLI"),
    ("readers", "clap", "clap types stay in the CLI"),
    ("infra", "clap", "clap types stay in the CLI"),
    ("store", "clap", "clap types stay in the CLI"),
    ("ops", "clap", "clap types stay in the CLI"),
    ("core", "println!", "only the CLI prints results"),
    ("readers", "println!", "only the CLI prints results"),
    ("infra", "println!", "only the CLI prints results"),
    ("store", "println!", "only the CLI prints results"),
    ("ops", "println!", "only the CLI prints results"),
    ("ops", "print!(", "only the CLI prints results"),
    (
        "infra",
        "ops::Context",
        "infrastructure takes explicit settings",
    ),
];

/// `src/a/b/c.rs` → `["a", "b", "c"]`; `mod.rs` names its directory.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        parts.clear();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments and its `#[cfg(test)]` module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Every module path a file refers to through `crate::` or `super::`,
/// as full paths from the crate root (the first two segments).
fn references(module: &[String], code: &str) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && code[..at].ends_with('$') {
            // `$crate::` in a macro: a path like any other.
        } else if at > 0 {
            let before = code[..at].chars().last().unwrap();
            if before.is_ascii_alphanumeric() || before == '_' {
                continue;
            }
        }
        let rest = &code[at + "crate::".len()..];
        let first = ident_at(rest);
        let second = rest[first.len()..]
            .strip_prefix("::")
            .map(ident_at)
            .unwrap_or("");
        let mut path = vec![first.to_owned()];
        if !second.is_empty() && second.chars().next().unwrap().is_ascii_lowercase() {
            path.push(second.to_owned());
        }
        found.insert(path);
    }
    for (at, _) in code.match_indices("super::") {
        if at > 0 && code[..at].ends_with("::") {
            continue; // super::super:: is handled from its first segment
        }
        let mut base: Vec<String> = module.to_vec();
        let mut rest = &code[at..];
        while let Some(after) = rest.strip_prefix("super::") {
            base.pop();
            rest = after;
        }
        let next = ident_at(rest);
        if !next.is_empty() && next.chars().next().unwrap().is_ascii_lowercase() {
            base.push(next.to_owned());
        }
        found.insert(base);
    }
    found
}

/// `text` in `code` where it starts a token (`println!` is not in `eprintln!`).
fn contains_token(code: &str, text: &str) -> bool {
    code.match_indices(text).any(|(at, _)| {
        !code[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn sources() -> Vec<(Vec<String>, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            (module_path(&src, file), code_of(&text))
        })
        .collect()
}

#[test]
fn layers_point_one_way() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut violations = Vec::new();
    for (module, code) in sources() {
        let Some(layer) = module.first() else {
            continue;
        };
        let Some(may_use) = allowed.get(layer.as_str()) else {
            violations.push(format!(
                "src/{}: {layer} is not a declared layer (ARCHITECTURE.md)",
                module.join("/")
            ));
            continue;
        };
        for target in references(&module, &code) {
            let Some(used) = target.first() else { continue };
            if !may_use.contains(&used.as_str()) && used != "invalid" {
                violations.push(format!(
                    "{} uses {}: the {layer} layer may only use {}",
                    module.join("::"),
                    target.join("::"),
                    may_use.join(", ")
                ));
            }
        }
        for (in_layer, text, why) in FORBIDDEN {
            if layer == in_layer && contains_token(&code, text) {
                violations.push(format!("{} contains {text}: {why}", module.join("::")));
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn modules_have_no_cycles() {
    // Nodes: `layer::module`, the unit ARCHITECTURE.md describes.
    let node = |path: &[String]| path.iter().take(2).cloned().collect::<Vec<_>>().join("::");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in sources() {
        if module.is_empty() {
            continue;
        }
        let from = node(&module);
        for target in references(&module, &code) {
            let to = node(&target);
            // A layer's own mod.rs is the parent of its modules, not a peer.
            if to != from && !to.is_empty() && target.len() >= 2 && module.len() >= 2 {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        if let Some(cycle) = visit(start, &edges, &mut Vec::new(), &mut done) {
            panic!("module cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_what_it_checks() {
    // The rules above are only as good as the reference finder.
    let module = vec!["ops".to_owned(), "build".to_owned()];
    let refs = references(
        &module,
        "use super::source::X;\nuse crate::infra::git::Y;\nlet x = crate::core::names::Z;\nfoo_crate::bar;",
    );
    let refs: Vec<String> = refs.iter().map(|r| r.join("::")).collect();
    assert_eq!(refs, ["core::names", "infra::git", "ops::source"]);
    assert_eq!(
        module_path(Path::new("/s"), Path::new("/s/infra/python/mod.rs")),
        ["infra", "python"]
    );
}
