//! How the core's values read on a terminal and in `--json`: pins, the
//! component changes of `plan` and of the reports. The core compares data;
//! only here does it become text.

use serde::Serialize;

use crate::core::lock::{Change, ComponentChange, ComponentState, LockedComponent};

/// A component's pin, short enough for a table.
pub fn pin_text(component: &LockedComponent) -> String {
    let pin = match component {
        LockedComponent::Git { commit, rev, .. } => match rev {
            Some(rev) if rev != commit => format!("{rev} ({:.12})", commit),
            _ => format!("{:.12}", commit),
        },
        LockedComponent::Url { sha256, .. } => format!("sha256:{:.12}", sha256),
        LockedComponent::Path { tree, .. } => format!("{:.16}", tree),
        LockedComponent::Python {
            version, python, ..
        } if python != version => {
            format!("{version} ({python})")
        }
        LockedComponent::Python { version, .. } => version.clone(),
    };
    // What else changes the build, so that a change of extras or
    // version alone still shows in `plan`. A version that only repeats
    // the tag pinned is left out.
    let mut details = Vec::new();
    if let Some(version) = component.tree_version() {
        let repeats_rev = matches!(component, LockedComponent::Git { rev: Some(rev), .. }
            if rev.trim_start_matches(['v', 'V']) == version);
        if !repeats_rev {
            details.push(format!("version {version}"));
        }
    }
    if !component.extras().is_empty() {
        details.push(format!("[{}]", component.extras().join(",")));
    }
    if let LockedComponent::Python {
        marker: Some(marker),
        ..
    } = component
    {
        details.push(format!("; {marker}"));
    }
    if details.is_empty() {
        pin
    } else {
        format!("{pin} {}", details.join(" "))
    }
}

/// A component as a release has it: its override, else its pin.
pub fn state_text(state: &ComponentState) -> String {
    match &state.overridden {
        Some(found) => format!("{} (override)", found.describe()),
        None => pin_text(&state.pinned),
    }
}

/// The old and the new text of a change (`None` for an added or removed
/// component's missing side). Two equal texts never stand for a change:
/// what differs is named then.
pub fn change_texts(change: &Change) -> (Option<String>, Option<String>) {
    match change {
        Change::Added { new } => (None, Some(state_text(new))),
        Change::Removed { old } => (Some(state_text(old)), None),
        Change::Unchanged { state } => (Some(state_text(state)), Some(state_text(state))),
        Change::Changed { old, new, keys } => {
            let still_overridden =
                old.overridden.is_some() && !keys.iter().any(|k| k == "override");
            let (before, mut after) = if still_overridden {
                // The override stays; the pin under it moved.
                (
                    pin_text(&old.pinned),
                    format!("{} (still overridden)", pin_text(&new.pinned)),
                )
            } else {
                (state_text(old), state_text(new))
            };
            let bare_after = if still_overridden {
                pin_text(&new.pinned)
            } else {
                after.clone()
            };
            if before == bare_after {
                after.push_str(&format!(" ({} changed)", keys.join(", ")));
            }
            (Some(before), Some(after))
        }
    }
}

/// `~ name: old -> new`, `+ name: new (new)`, `- name: old (removed)`,
/// `  name: pin`: one line.
pub fn change_line(change: &ComponentChange) -> String {
    let name = &change.component;
    match (&change.change, change_texts(&change.change)) {
        (Change::Added { .. }, (_, Some(new))) => format!("+ {name}: {new} (new)"),
        (Change::Removed { .. }, (Some(old), _)) => format!("- {name}: {old} (removed)"),
        (Change::Unchanged { .. }, (_, Some(pin))) => format!("  {name}: {pin}"),
        (_, (old, new)) => format!(
            "~ {name}: {} -> {}",
            old.unwrap_or_default(),
            new.unwrap_or_default()
        ),
    }
}

/// A change in `plan --json`'s `components`: `old` for changed and
/// removed, `new` for changed and added, `pin` for unchanged components,
/// and `keys` (the lock keys that differ) for changed ones.
#[derive(Debug, Serialize)]
pub struct PlannedChange {
    pub component: String,
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

impl From<&ComponentChange> for PlannedChange {
    fn from(change: &ComponentChange) -> Self {
        let (old, new) = change_texts(&change.change);
        let (kind, keys) = match &change.change {
            Change::Added { .. } => ("added", Vec::new()),
            Change::Removed { .. } => ("removed", Vec::new()),
            Change::Changed { keys, .. } => ("changed", keys.clone()),
            Change::Unchanged { .. } => ("unchanged", Vec::new()),
        };
        let (old, new, pin) = match kind {
            "unchanged" => (None, None, new),
            _ => (old, new, None),
        };
        PlannedChange {
            component: change.component.to_string(),
            change: kind,
            old,
            new,
            pin,
            keys,
        }
    }
}

/// A change in a report's `changes`: `old`/`new` are `null` when the
/// component was added or removed; `keys` as in `plan`.
#[derive(Debug, Serialize)]
pub struct ReportedChange {
    pub component: String,
    pub old: Option<String>,
    pub new: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

/// The changes of a report: the components that changed only.
pub fn reported_changes(changes: &[ComponentChange]) -> Vec<ReportedChange> {
    changes
        .iter()
        .filter(|c| c.is_change())
        .map(|change| {
            let (old, new) = change_texts(&change.change);
            ReportedChange {
                component: change.component.to_string(),
                old,
                new,
                keys: match &change.change {
                    Change::Changed { keys, .. } => keys.clone(),
                    _ => Vec::new(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::lock::{diff, LockFile, TreeBuild};

    #[test]
    fn pins_show_extras_and_versions_that_are_not_the_tag() {
        let git = |rev: &str, version: Option<&str>, extras: &[&str]| LockedComponent::Git {
            git: "/srv/app.git".into(),
            rev: Some(rev.into()),
            commit: "0123456789abcdef".into(),
            build: TreeBuild {
                install: Some("python".into()),
                extras: extras.iter().map(|e| e.to_string()).collect(),
                version: version.map(str::to_owned),
            },
        };
        assert_eq!(
            pin_text(&git("2026.07", Some("2026.07"), &[])),
            "2026.07 (0123456789ab)"
        );
        assert_eq!(
            pin_text(&git("v1.0", Some("1.0"), &["server", "x"])),
            "v1.0 (0123456789ab) [server,x]"
        );
        assert_eq!(
            pin_text(&git("main", Some("1.0.post2+g0123456"), &[])),
            "main (0123456789ab) version 1.0.post2+g0123456"
        );
    }

    const HEADER: &str = "version = 1\n[manifest]\nsource = \"builtin\"\ncommit = \"c\"\n\
                          describe = \"d\"\nfile = \"lava.toml\"\n";
    const GIT: &str = "[components.app]\nkind = \"git\"\ngit = \"/srv/app.git\"\nrev = \"v1\"\n\
                       commit = \"0123456789012345678901234567890123456789\"\n";
    const OVERRIDE: &str =
        "[overrides.app]\ndir = \"app\"\npath = \"/home/dev/app\"\nmatched-by = \"git origin\"\n";

    fn lines(old: &str, new: &str) -> Vec<String> {
        let lock = |body: &str| LockFile::parse(&format!("{HEADER}{body}")).unwrap();
        diff(Some(&lock(old)), &lock(new))
            .iter()
            .map(change_line)
            .collect()
    }

    /// A change whose pins read the same names what differs; "still
    /// overridden" only when an override stays over a moved pin.
    #[test]
    fn changes_read_as_what_changed() {
        let installed = format!("{GIT}install = \"python\"\n");
        let moved = GIT
            .replace("rev = \"v1\"", "rev = \"v2\"")
            .replacen("0123", "4567", 1);
        let package = |hashes: &str| {
            format!(
                "[components.pkg]\nkind = \"python\"\npython = \"1.0\"\nversion = \"1.0\"\n\
                 hashes = [{hashes}]\n"
            )
        };
        #[rustfmt::skip]
        let table: [(&str, String, String, &str); 6] = [
            ("same", GIT.into(), GIT.into(), "  app: v1 (012345678901)"),
            ("install only", GIT.into(), installed.clone(),
                "~ app: v1 (012345678901) -> v1 (012345678901) (install changed)"),
            ("hashes only", package("\"sha256:aa\""), package("\"sha256:bb\""),
                "~ pkg: 1.0 -> 1.0 (hashes changed)"),
            ("pin moved", GIT.into(), moved.clone(),
                "~ app: v1 (012345678901) -> v2 (456745678901)"),
            ("pin moved under an override", format!("{GIT}{OVERRIDE}"), format!("{moved}{OVERRIDE}"),
                "~ app: v1 (012345678901) -> v2 (456745678901) (still overridden)"),
            ("overridden now", GIT.into(), format!("{GIT}{OVERRIDE}"),
                "~ app: v1 (012345678901) -> local/app (override)"),
        ];
        for (what, old, new, expected) in table {
            assert_eq!(lines(&old, &new), [expected], "{what}");
        }
    }
}
