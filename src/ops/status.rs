//! `status [NAME]` and `list`: what is deployed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{hooks, Context};
use crate::core::error::Result;
use crate::core::history::{History, HistoryEntry, HistoryOutcome};
use crate::core::lock::{LockFile, LockedComponent, LockedManifest, LockedOverride};
use crate::core::names::{ComponentName, InstanceName, ReleaseName};
use crate::core::record::SourceRecord;
use crate::store::Instance;

#[derive(Debug, Clone, Serialize)]
pub struct InstanceStatus {
    pub name: String,
    pub path: String,
    /// The release `current` points at; `None` for an install that never finished.
    pub current: Option<ReleaseName>,
    pub releases: Vec<ReleaseName>,
    pub follows: SourceRecord,
    pub manifest: Option<LockedManifest>,
    pub components: BTreeMap<ComponentName, LockedComponent>,
    /// Components replaced by directories in local/.
    pub overrides: BTreeMap<ComponentName, LockedOverride>,
    /// Releases whose post-switch or check failed (rolled back), and why.
    pub failed: BTreeMap<ReleaseName, String>,
    /// A deployment that was interrupted between its switch and the end of
    /// its check; the next `upgrade` finishes it or rolls back.
    pub interrupted: Option<String>,
    /// The instance at a glance: health, since, last check, answer.
    #[serde(flatten)]
    pub glance: Glance,
}

/// How the instance is, from its record, its history and (for `status`)
/// its check-url asked now.
#[derive(Debug, Clone, Serialize)]
pub struct Glance {
    /// When `current` last moved (the symlink's time).
    pub since: Option<String>,
    /// The instance at a glance (see [`Health`]).
    pub health: Health,
    /// The last health check of the current release, from the history.
    pub last_check: Option<LastCheck>,
    /// The last line of the history.
    pub last: Option<HistoryEntry>,
    /// The current release's `check-url` asked now (`status` only, not
    /// `list`; a short timeout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
}

impl Glance {
    /// `ask`: also ask the current release's check-url (not when stopped).
    fn read(
        instance: &Instance,
        interrupted: bool,
        current: Option<&(ReleaseName, LockFile)>,
        ask: bool,
    ) -> Self {
        let history = match instance.read_history() {
            Ok(history) => history,
            Err(err) => {
                tracing::warn!("{err:#}");
                History::default()
            }
        };
        let release = current.map(|(r, _)| r.to_string());
        let last = history.entries.last().cloned();
        let last_check = history.entries.iter().rev().find_map(|entry| {
            let check = entry.check.as_ref()?;
            (Some(&check.release) == release.as_ref()).then(|| LastCheck {
                ok: check.ok,
                seconds: check.seconds,
                time: entry.time.clone(),
                action: entry.action.clone(),
            })
        });
        let health = health(
            interrupted,
            current.is_some(),
            last.as_ref(),
            last_check.as_ref(),
        );
        let answer = match current {
            Some((release, lock)) if ask && health != Health::Stopped => {
                hooks::check_url(instance, release, &lock.service)
                    .ok()
                    .flatten()
                    .map(|url| ask_url(&url))
            }
            _ => None,
        };
        let since = std::fs::symlink_metadata(instance.current_link())
            .and_then(|meta| meta.modified())
            .ok()
            .filter(|_| current.is_some())
            .map(crate::core::time::rfc3339);
        Glance {
            since,
            health,
            last_check,
            last,
            answer,
        }
    }
}

/// What needs attention first, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    /// A deployment was killed between its switch and its check.
    Interrupted,
    /// No release serves (the first install did not finish).
    NotInstalled,
    /// `stop` was the last command.
    Stopped,
    /// The last check of the current release failed.
    CheckFailed,
    /// The last command's new release failed and the previous one serves.
    RolledBack,
    /// The last command failed or was interrupted.
    LastFailed,
    Ok,
}

impl Health {
    pub fn name(self) -> &'static str {
        match self {
            Health::Interrupted => "INTERRUPTED",
            Health::NotInstalled => "not-installed",
            Health::Stopped => "stopped",
            Health::CheckFailed => "check-failed",
            Health::RolledBack => "rolled-back",
            Health::LastFailed => "last-failed",
            Health::Ok => "ok",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LastCheck {
    pub ok: bool,
    pub seconds: f64,
    /// When the command that ran it started, and which it was.
    pub time: String,
    pub action: String,
}

/// The answer of `check-url` now; `version` when it is a JSON object with
/// a string `version` (the built-in LAVA manifests' check-url).
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub url: String,
    pub ok: bool,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How long `status` waits for the check-url.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

impl InstanceStatus {
    /// `ask`: also ask the current release's check-url.
    pub fn read(instance: &Instance, ask: bool) -> Result<Self> {
        let record = instance.read_record()?;
        let current = instance.current_lock()?;
        let glance = Glance::read(instance, record.pending.is_some(), current.as_ref(), ask);
        Ok(InstanceStatus {
            glance,
            name: instance.name.to_string(),
            path: instance.dir.display().to_string(),
            releases: instance.releases()?,
            current: current.as_ref().map(|(r, _)| r.clone()),
            failed: record
                .releases
                .iter()
                .filter_map(|r| Some((r.name.clone(), r.failed.clone()?)))
                .collect(),
            interrupted: record.pending.as_ref().map(|p| {
                format!(
                    "`{}` switched to release {} at {} and was interrupted before its \
                     post-switch and check finished; `lava-deploy upgrade {}` finishes it or rolls back",
                    p.command, p.release, p.started, instance.name
                )
            }),
            follows: record.source,
            manifest: current.as_ref().map(|(_, l)| l.manifest.clone()),
            overrides: current
                .as_ref()
                .map(|(_, l)| l.overrides.clone())
                .unwrap_or_default(),
            components: current.map(|(_, l)| l.components).unwrap_or_default(),
        })
    }
}

fn health(
    interrupted: bool,
    installed: bool,
    last: Option<&HistoryEntry>,
    check: Option<&LastCheck>,
) -> Health {
    let last_was = |action: &str, outcome: HistoryOutcome| {
        last.is_some_and(|l| l.action == action && l.outcome == outcome)
    };
    if interrupted {
        Health::Interrupted
    } else if !installed {
        Health::NotInstalled
    } else if last_was("stop", HistoryOutcome::Ok) {
        Health::Stopped
    } else if check.is_some_and(|c| !c.ok) {
        Health::CheckFailed
    } else if last.is_some_and(|l| l.outcome == HistoryOutcome::RolledBack) {
        Health::RolledBack
    } else if last.is_some_and(|l| {
        matches!(
            l.outcome,
            HistoryOutcome::Failed | HistoryOutcome::Interrupted
        )
    }) {
        Health::LastFailed
    } else {
        Health::Ok
    }
}

/// One GET of the check-url, never long.
fn ask_url(url: &str) -> Answer {
    let started = Instant::now();
    let answer = crate::infra::http::get_small(url, ANSWER_TIMEOUT, 64 * 1024);
    let seconds = (started.elapsed().as_secs_f64() * 100.0).round() / 100.0;
    match answer {
        Ok(body) => Answer {
            url: url.to_owned(),
            ok: true,
            seconds,
            version: serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("version")?.as_str().map(str::to_owned)),
            error: None,
        },
        Err(error) => Answer {
            url: url.to_owned(),
            ok: false,
            seconds,
            version: None,
            error: Some(error),
        },
    }
}

/// One instance, which must exist; its check-url is asked.
pub fn status(ctx: &Context, name: &InstanceName) -> Result<InstanceStatus> {
    let (instance, _) = ctx.existing_instance(name)?;
    InstanceStatus::read(&instance, true)
}

/// Every instance under the root; `ask`: their check-urls too.
pub fn all(ctx: &Context, ask: bool) -> Result<Vec<InstanceStatus>> {
    ctx.root
        .instance_names()?
        .iter()
        .map(|name| InstanceStatus::read(&ctx.root.instance(name), ask))
        .collect()
}
