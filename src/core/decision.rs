//! What `install` or `upgrade` does with a resolved lock: build a release,
//! nothing (up to date), or refuse. One pure function, so that `plan`
//! (which only says it) and the commands (which then do it) cannot
//! disagree.

use serde::Serialize;

use super::error::Error;
use super::lock::LockFile;
use super::names::ReleaseName;
use super::record::InstanceRecord;

/// The command a decision is for. `plan` decides for the one that would
/// run: `install` while the instance has no current release, else `upgrade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Resumes a failed install too: the same pins are built again.
    Install,
    Upgrade,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Install => "install",
            Action::Upgrade => "upgrade",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The current release already has exactly these pins.
    UpToDate,
    /// A new release is built; `retrying`: the failed release whose pins
    /// these are (`--retry-failed`).
    Build {
        retrying: Option<ReleaseName>,
    },
    Refused(Refusal),
}

/// Why the command stops without building.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `[secrets] required` keys the instance does not have (exit 2, before
    /// anything is fetched), with the command that sets each.
    MissingSecrets {
        instance: String,
        keys: Vec<String>,
        commands: Vec<String>,
    },
    /// A release with exactly these pins failed its post-switch or check
    /// (exit 1); `--retry-failed` builds them again.
    FailedBefore { release: ReleaseName, why: String },
}

impl Refusal {
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::MissingSecrets { .. } => "missing-secrets",
            Refusal::FailedBefore { .. } => "failed-before",
        }
    }

    /// What the command says, one paragraph.
    pub fn message(&self) -> String {
        match self {
            Refusal::MissingSecrets {
                instance,
                keys,
                commands,
            } => {
                let one = keys.len() == 1;
                let commands: Vec<String> = commands.iter().map(|c| format!("`{c}`")).collect();
                format!(
                    "instance {instance} needs the secret{} {} (the manifest's [secrets] \
                     required), which {} not set; nothing was built. Set {} with {} (the value \
                     is read from standard input, or --from-file FILE)",
                    if one { "" } else { "s" },
                    keys.join(", "),
                    if one { "is" } else { "are" },
                    if one { "it" } else { "them" },
                    commands.join(" and ")
                )
            }
            Refusal::FailedBefore { release, why } => format!(
                "release {release} had exactly these pins and failed ({why}); upgrade does not \
                 build them again: change the manifest, or pass --retry-failed to try once more"
            ),
        }
    }

    /// The error the command exits with; its kind gives the exit code.
    pub fn to_error(&self) -> Error {
        match self {
            Refusal::MissingSecrets { .. } => Error::Invalid(self.message()),
            Refusal::FailedBefore { .. } => Error::Failed(anyhow::anyhow!(self.message())),
        }
    }

    pub fn exit_code(&self) -> u8 {
        self.to_error().exit_code()
    }

    /// Whether the refusing command still records the manifest source it
    /// was asked to follow (it got as far as resolving it).
    pub fn records_source(&self) -> bool {
        matches!(self, Refusal::FailedBefore { .. })
    }
}

/// What the command does with `new`, given the current release's lock, the
/// instance's history and the required secrets it lacks (`missing`).
pub fn decide(
    action: Action,
    current: Option<&LockFile>,
    new: &LockFile,
    record: &InstanceRecord,
    retry_failed: bool,
    missing: Option<Refusal>,
) -> Decision {
    if let Some(refusal) = missing {
        return Decision::Refused(refusal);
    }
    if current.is_some_and(|current| current.same_build(new)) {
        return Decision::UpToDate;
    }
    let failed = match action {
        // A failed first install is resumed by running install again.
        Action::Install => None,
        Action::Upgrade => record.failed_build(&new.build_id()),
    };
    match failed {
        None => Decision::Build { retrying: None },
        Some(failed) if retry_failed => Decision::Build {
            retrying: Some(failed.name.clone()),
        },
        Some(failed) => Decision::Refused(Refusal::FailedBefore {
            release: failed.name.clone(),
            why: failed.failed.clone().unwrap_or_else(|| "failed".to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::ReleaseEntry;

    fn lock(version: &str) -> LockFile {
        LockFile::parse(&format!(
            "version = 1\n[manifest]\nsource = \"builtin\"\ncommit = \"c\"\ndescribe = \"d\"\n\
             file = \"lava.toml\"\n[components.app]\nkind = \"python\"\npython = \"{version}\"\n\
             version = \"{version}\"\n"
        ))
        .unwrap()
    }

    fn release(name: &str) -> ReleaseName {
        ReleaseName::parse(name).unwrap()
    }

    /// A record in which the release `0002-r2`, built from `failed`, failed.
    fn failed_with(failed: &LockFile) -> InstanceRecord {
        InstanceRecord {
            releases: vec![ReleaseEntry {
                name: release("0002-r2"),
                created: String::new(),
                command: "upgrade".into(),
                manifest_commit: "c".into(),
                manifest_file: "lava.toml".into(),
                build_id: Some(failed.build_id()),
                failed: Some("check failed".into()),
            }],
            ..InstanceRecord::default()
        }
    }

    fn missing() -> Refusal {
        Refusal::MissingSecrets {
            instance: "x".into(),
            keys: vec!["TOKEN".into()],
            commands: vec!["lava-deploy secret set x TOKEN".into()],
        }
    }

    #[test]
    fn decisions() {
        let (v1, v2) = (lock("1"), lock("2"));
        let clean = InstanceRecord::default();
        let failed_v2 = failed_with(&v2);
        let refused_v2 = Decision::Refused(Refusal::FailedBefore {
            release: release("0002-r2"),
            why: "check failed".into(),
        });
        let build = Decision::Build { retrying: None };
        use Action::{Install, Upgrade};
        #[rustfmt::skip]
        type Row<'a> = (&'a str, Action, Option<&'a LockFile>, &'a LockFile, &'a InstanceRecord, bool, Option<Refusal>, Decision);
        let table: Vec<Row> = vec![
            (
                "first install",
                Install,
                None,
                &v1,
                &clean,
                false,
                None,
                build.clone(),
            ),
            (
                "same pins",
                Upgrade,
                Some(&v1),
                &v1,
                &clean,
                false,
                None,
                Decision::UpToDate,
            ),
            (
                "new pins",
                Upgrade,
                Some(&v1),
                &v2,
                &clean,
                false,
                None,
                build.clone(),
            ),
            (
                "failed pins",
                Upgrade,
                Some(&v1),
                &v2,
                &failed_v2,
                false,
                None,
                refused_v2,
            ),
            (
                "failed pins, retried",
                Upgrade,
                Some(&v1),
                &v2,
                &failed_v2,
                true,
                None,
                Decision::Build {
                    retrying: Some(release("0002-r2")),
                },
            ),
            (
                "other pins than the failed ones",
                Upgrade,
                Some(&v2),
                &v1,
                &failed_v2,
                false,
                None,
                build.clone(),
            ),
            (
                "a failed first install is resumed",
                Install,
                None,
                &v2,
                &failed_v2,
                false,
                None,
                build.clone(),
            ),
            (
                "missing secret first",
                Upgrade,
                Some(&v1),
                &v1,
                &clean,
                false,
                Some(missing()),
                Decision::Refused(missing()),
            ),
            (
                "missing secret over failed pins",
                Upgrade,
                Some(&v1),
                &v2,
                &failed_v2,
                true,
                Some(missing()),
                Decision::Refused(missing()),
            ),
        ];
        for (what, action, current, new, record, retry, missing, expected) in table {
            assert_eq!(
                decide(action, current, new, record, retry, missing),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn refusals_exit_as_their_commands_do() {
        let failed = Refusal::FailedBefore {
            release: release("0002-r2"),
            why: "check failed".into(),
        };
        assert_eq!(failed.exit_code(), 1);
        assert!(failed.records_source());
        assert_eq!(missing().exit_code(), 2);
        assert!(!missing().records_source());
        assert_eq!(
            missing().message(),
            "instance x needs the secret TOKEN (the manifest's [secrets] required), which is not \
             set; nothing was built. Set it with `lava-deploy secret set x TOKEN` (the value is \
             read from standard input, or --from-file FILE)"
        );
    }
}
