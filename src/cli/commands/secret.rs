//! `secret set|list|rm`: values go in, only keys come out.

use std::io::{IsTerminal, Read};
use std::path::Path;

use serde_json::json;

use super::print_json;
use crate::core::error::Result;
use crate::core::names::InstanceName;
use crate::core::secrets::value_from_input;
use crate::invalid;
use crate::ops::Context;

pub fn set(
    ctx: &Context,
    name: &InstanceName,
    key: &str,
    from_file: Option<&Path>,
    check: bool,
    json: bool,
) -> Result<()> {
    let input = match from_file {
        Some(file) => std::fs::read(file).map_err(|err| {
            invalid!(
                "cannot read the value of secret {key} from {}: {err}",
                file.display()
            )
        })?,
        None => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("value of secret {key} (end with Ctrl-D):");
            }
            let mut input = Vec::new();
            stdin.read_to_end(&mut input).map_err(|err| {
                invalid!("cannot read the value of secret {key} from standard input: {err}")
            })?;
            input
        }
    };
    let value = value_from_input(&input);
    let changed = if check {
        crate::ops::secrets::would_set(ctx, name, key, value)?
    } else {
        crate::ops::secrets::set(ctx, name, key, value)?
    };
    if json {
        return print_json(&json!({"instance": name, "key": key, "changed": changed}));
    }
    if check {
        let would = if changed {
            "would be set"
        } else {
            "is unchanged"
        };
        println!("secret {key} of {name} {would} (--check: nothing written)");
    } else if changed {
        println!("secret {key} of {name} set");
    } else {
        println!("secret {key} of {name} unchanged");
    }
    Ok(())
}

pub fn list(ctx: &Context, name: &InstanceName, json: bool) -> Result<()> {
    let keys = crate::ops::secrets::list(ctx, name)?;
    if json {
        return print_json(&json!({"instance": name, "keys": keys}));
    }
    for key in keys {
        println!("{key}");
    }
    Ok(())
}

pub fn remove(ctx: &Context, name: &InstanceName, key: &str, json: bool) -> Result<()> {
    let changed = crate::ops::secrets::remove(ctx, name, key)?;
    if json {
        return print_json(&json!({"instance": name, "key": key, "changed": changed}));
    }
    if changed {
        println!("secret {key} of {name} removed");
    } else {
        println!("{name} has no secret {key}: nothing removed");
    }
    Ok(())
}
