//! How a release runs as a service: `[shared]` state kept across releases,
//! `[environment]` for its hooks, and `[hooks]` run around the switch.
//! Part of the manifest and of the lock: changing any of it is a change
//! that `plan` shows and `upgrade` deploys.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Service {
    #[serde(default, skip_serializing_if = "Shared::is_empty")]
    pub shared: Shared,
    /// Exported to every hook, `${LAVA_*}` expanded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Hooks::is_empty")]
    pub hooks: Hooks,
    #[serde(default, skip_serializing_if = "Secrets::is_empty")]
    pub secrets: Secrets,
}

/// `[secrets]`: the keys the manifest needs (`required`), and in a lock the
/// keyed hash of every secret the instance had when the release was built
/// (never a value), so that a changed secret is a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secrets {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// Lock only: key → `hmac-sha256:…` (`core::secrets::keyed_hash`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hashes: BTreeMap<String, String>,
}

impl Secrets {
    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && self.hashes.is_empty()
    }
}

/// Paths under `instances/<name>/shared/`, linked into every release at the
/// same relative path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<String>,
    /// Created empty when missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

impl Service {
    pub fn is_empty(&self) -> bool {
        *self == Service::default()
    }
}

impl Shared {
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty() && self.files.is_empty()
    }
}

/// The phases, in the order a deployment runs them (`rollback` only runs
/// when `current` moves back; `stop` only when the instance stops serving a
/// release and none takes over: `remove`, or a first release that failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Setup,
    Build,
    PreSwitch,
    PostSwitch,
    Check,
    Rollback,
    Stop,
}

impl Phase {
    pub const ALL: [Phase; 7] = [
        Phase::Setup,
        Phase::Build,
        Phase::PreSwitch,
        Phase::PostSwitch,
        Phase::Check,
        Phase::Rollback,
        Phase::Stop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Build => "build",
            Phase::PreSwitch => "pre-switch",
            Phase::PostSwitch => "post-switch",
            Phase::Check => "check",
            Phase::Rollback => "rollback",
            Phase::Stop => "stop",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Phase {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Each phase: shell commands run one after the other by `/bin/sh -e -c`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Hooks {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pre_switch: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_switch: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check: Vec<String>,
    /// Health check by HTTP: any 2xx answer passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollback: Vec<String>,
    /// Stops the release's services when nothing takes over from it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Per command (humantime: `10m`, `90s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HookDuration>,
    /// The check is retried every `check-interval` until this passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_timeout: Option<HookDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_interval: Option<HookDuration>,
}

/// A duration of `[hooks]` as the manifest writes it (`"90s"`, `"10m"`,
/// kept as written in the lock), parsed once, when it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HookDuration {
    text: String,
    value: Duration,
}

impl HookDuration {
    /// A positive humantime duration, or why not.
    pub fn parse(text: &str) -> Result<Self, String> {
        match humantime::parse_duration(text.trim()) {
            Ok(value) if !value.is_zero() => Ok(HookDuration {
                text: text.to_owned(),
                value,
            }),
            _ => Err(format!(
                "{text:?} is not a duration like \"90s\" or \"10m\""
            )),
        }
    }

    pub fn value(&self) -> Duration {
        self.value
    }
}

impl TryFrom<String> for HookDuration {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        HookDuration::parse(&text)
    }
}

impl From<HookDuration> for String {
    fn from(duration: HookDuration) -> Self {
        duration.text
    }
}

/// Defaults of the contract.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(1);

impl Hooks {
    pub fn is_empty(&self) -> bool {
        *self == Hooks::default()
    }

    pub fn commands(&self, phase: Phase) -> &[String] {
        match phase {
            Phase::Setup => &self.setup,
            Phase::Build => &self.build,
            Phase::PreSwitch => &self.pre_switch,
            Phase::PostSwitch => &self.post_switch,
            Phase::Check => &self.check,
            Phase::Rollback => &self.rollback,
            Phase::Stop => &self.stop,
        }
    }

    pub fn commands_mut(&mut self, phase: Phase) -> &mut Vec<String> {
        match phase {
            Phase::Setup => &mut self.setup,
            Phase::Build => &mut self.build,
            Phase::PreSwitch => &mut self.pre_switch,
            Phase::PostSwitch => &mut self.post_switch,
            Phase::Check => &mut self.check,
            Phase::Rollback => &mut self.rollback,
            Phase::Stop => &mut self.stop,
        }
    }

    /// Whether there is a health check at all.
    pub fn has_check(&self) -> bool {
        !self.check.is_empty() || self.check_url.is_some()
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
            .as_ref()
            .map_or(DEFAULT_TIMEOUT, HookDuration::value)
    }

    pub fn check_timeout(&self) -> Duration {
        (self.check_timeout.as_ref()).map_or(DEFAULT_CHECK_TIMEOUT, HookDuration::value)
    }

    pub fn check_interval(&self) -> Duration {
        (self.check_interval.as_ref()).map_or(DEFAULT_CHECK_INTERVAL, HookDuration::value)
    }
}

/// The variables every hook gets besides `[environment]`.
pub const HOOK_VARIABLES: &[&str] = &[
    "LAVA_INSTANCE",
    "LAVA_INSTANCE_DIR",
    "LAVA_SHARED_DIR",
    "LAVA_RELEASE",
    "LAVA_RELEASE_DIR",
    "LAVA_PREVIOUS_RELEASE",
    "LAVA_PHASE",
];

/// Every `${NAME}` in `text` replaced from `vars` (`check-url`, which may
/// use `[environment]` too); an unknown name is returned as the error.
pub fn expand_all(text: &str, vars: &BTreeMap<&str, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            out.push_str("${");
            rest = after;
            continue;
        };
        let name = &after[..end];
        match vars.get(name) {
            Some(value) => out.push_str(value),
            None => return Err(name.to_owned()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `${LAVA_*}` references in `text` replaced from `vars`; an unknown
/// `${LAVA_…}` is returned as the error, other text is kept as it is.
pub fn expand(text: &str, vars: &BTreeMap<&str, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find('}') {
            Some(end) if after[..end].starts_with("LAVA_") => {
                let name = &after[..end];
                match vars.get(name) {
                    Some(value) => out.push_str(value),
                    None => return Err(name.to_owned()),
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Every setting of a service as `key = value` lines, for showing what
/// changed between two locks (`hooks.pre-switch`, `environment.X`, …).
/// The secrets' hashes are left out: `lock::secret_diff` names them by key.
pub fn flatten(service: &Service) -> BTreeMap<String, String> {
    let mut flat = BTreeMap::new();
    let mut service = service.clone();
    service.secrets.hashes.clear();
    let value = serde_json::to_value(&service).expect("a service is JSON");
    flatten_into("", &value, &mut flat);
    flat
}

fn flatten_into(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten_into(&key, value, out);
            }
        }
        serde_json::Value::String(text) => {
            out.insert(prefix.to_owned(), text.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lava_variables_expand_and_others_stay() {
        let vars = BTreeMap::from([("LAVA_SHARED_DIR", "/srv/x/shared".to_owned())]);
        assert_eq!(
            expand("sqlite:///${LAVA_SHARED_DIR}/db ${HOME} ${", &vars).unwrap(),
            "sqlite:////srv/x/shared/db ${HOME} ${"
        );
        assert_eq!(expand("${LAVA_NOPE}", &vars).unwrap_err(), "LAVA_NOPE");
    }

    #[test]
    fn flattened_keys_name_what_changed() {
        let mut service = Service::default();
        service.hooks.pre_switch = vec!["migrate".into()];
        service.environment.insert("A".into(), "1".into());
        let flat = flatten(&service);
        assert_eq!(flat["hooks.pre-switch"], "[\"migrate\"]");
        assert_eq!(flat["environment.A"], "1");
    }
}
