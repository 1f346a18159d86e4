//! One module per subcommand; each is thin and calls the operations.

pub mod develop;
pub mod install;
pub mod lifecycle;
pub mod list;
pub mod manifest;
pub mod plan;
pub mod rebuild;
pub mod rollback;
pub mod status;
pub mod upgrade;

use anyhow::Result;

use crate::context::Context;
use crate::invalid;
use crate::layout::{Instance, InstanceName};
use crate::record::InstanceRecord;

/// An instance that must already exist; checked before anything is written.
pub fn existing_instance(ctx: &Context, name: &str) -> Result<(Instance, InstanceRecord)> {
    let name = InstanceName::parse(name)?;
    let instance = ctx.root.instance(&name);
    if !instance.exists() {
        let known = ctx.root.instance_names().unwrap_or_default();
        let known = if known.is_empty() {
            "there are none yet".to_owned()
        } else {
            format!(
                "known instances: {}",
                known
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(invalid!(
            "no instance {name} under {} ({known}); create it with `lava-deploy install {name}` \
             or pass the right --root",
            ctx.root.path.display()
        ));
    }
    let record = InstanceRecord::read(&instance.record_path())?;
    Ok((instance, record))
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
