//! `list`: the instances under the root, one line each.

use anyhow::Result;
use serde::Serialize;

use crate::context::Context;

#[derive(Serialize)]
struct Entry {
    name: String,
    current: Option<String>,
    follows: String,
}

pub fn run(ctx: &Context, json: bool) -> Result<()> {
    let entries: Vec<Entry> = super::status::all(ctx)?
        .into_iter()
        .map(|s| Entry {
            name: s.name,
            current: s.current,
            follows: s.follows.branch,
        })
        .collect();
    if json {
        return super::print_json(&entries);
    }
    if entries.is_empty() {
        println!("no instances under {}", ctx.root.path.display());
    }
    let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
    for entry in entries {
        println!(
            "{:width$}  {:24}  {}",
            entry.name,
            entry.current.as_deref().unwrap_or("(not installed)"),
            entry.follows
        );
    }
    Ok(())
}
