//! The service sections of a native manifest: `[shared]`, `[environment]`
//! and `[hooks]`, validated and merged through `extends` key by key (a
//! later file's `hooks.X = []` clears an inherited hook).

use std::collections::{BTreeMap, BTreeSet};

use super::normalize_branch_path;
use super::raw::{RawHooks, RawSecrets, RawShared, StringOrList};
use crate::core::model::{Location, ManifestError};
use crate::core::service::{
    expand, expand_all, HookDuration, Hooks, Phase, Secrets, Service, HOOK_VARIABLES,
};

/// What one file says about the service; `None`: not said, inherited.
#[derive(Debug, Default)]
pub struct ServiceLayer {
    dirs: Option<Vec<String>>,
    files: Option<Vec<String>>,
    environment: BTreeMap<String, String>,
    commands: BTreeMap<Phase, Vec<String>>,
    check_url: Option<(String, Location)>,
    /// `[secrets] required`: the union over the `extends` chain.
    required_secrets: BTreeSet<String>,
    timeout: Option<HookDuration>,
    check_timeout: Option<HookDuration>,
    check_interval: Option<HookDuration>,
}

/// Names a release already has: shared paths may not replace them.
const RELEASE_ENTRIES: &[&str] = &["src", "env", "bin", "local", "lava.lock"];

impl ServiceLayer {
    /// Reads and checks the sections of one file; problems go to `errors`.
    pub fn read(
        shared: Option<(RawShared, Location)>,
        environment: Option<(BTreeMap<String, String>, Location)>,
        hooks: Option<(RawHooks, Location)>,
        secrets: Option<(RawSecrets, Location)>,
        errors: &mut Vec<ManifestError>,
    ) -> Self {
        let mut layer = ServiceLayer::default();
        if let Some((secrets, at)) = secrets {
            for key in secrets.required.unwrap_or_default() {
                if let Err(why) = crate::core::secrets::validate_key(&key) {
                    errors.push(error(&at, format!("[secrets] required: {why}")));
                }
                layer.required_secrets.insert(key);
            }
        }
        if let Some((shared, at)) = shared {
            layer.dirs = shared.dirs.map(|d| shared_paths(d, "dirs", &at, errors));
            layer.files = shared.files.map(|f| shared_paths(f, "files", &at, errors));
        }
        if let Some((environment, at)) = environment {
            let known: BTreeMap<&str, String> =
                HOOK_VARIABLES.iter().map(|v| (*v, String::new())).collect();
            for (key, value) in environment {
                let valid_key = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid_key {
                    errors.push(error(
                        &at,
                        format!(
                            "[environment] {key:?} is not a variable name (letters, digits and _)"
                        ),
                    ));
                }
                if let Err(unknown) = expand(&value, &known) {
                    errors.push(error(
                        &at,
                        format!(
                            "[environment] {key} uses ${{{unknown}}}, which is not a lava-deploy variable; known: {}",
                            HOOK_VARIABLES.join(", ")
                        ),
                    ));
                }
                layer.environment.insert(key, value);
            }
        }
        if let Some((hooks, at)) = hooks {
            let phases = [
                (Phase::Setup, hooks.setup),
                (Phase::Build, hooks.build),
                (Phase::PreSwitch, hooks.pre_switch),
                (Phase::PostSwitch, hooks.post_switch),
                (Phase::Check, hooks.check),
                (Phase::Rollback, hooks.rollback),
                (Phase::Stop, hooks.stop),
            ];
            for (phase, commands) in phases {
                let Some(commands) = commands.map(StringOrList::into_vec) else {
                    continue;
                };
                if commands.iter().any(|c| c.trim().is_empty()) {
                    errors.push(error(&at, format!("[hooks] {phase} has an empty command")));
                }
                layer.commands.insert(phase, commands);
            }
            if let Some(url) = &hooks.check_url {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    errors.push(error(
                        &at,
                        format!("[hooks] check-url = {url:?} must be an http:// or https:// URL"),
                    ));
                }
            }
            let mut duration = |key: &str, text: Option<String>| {
                let parsed = HookDuration::parse(text.as_deref()?);
                parsed
                    .map_err(|why| errors.push(error(&at, format!("[hooks] {key} = {why}"))))
                    .ok()
            };
            layer.timeout = duration("timeout", hooks.timeout);
            layer.check_timeout = duration("check-timeout", hooks.check_timeout);
            layer.check_interval = duration("check-interval", hooks.check_interval);
            layer.check_url = hooks.check_url.map(|url| (url, at.clone()));
        }
        layer
    }

    /// Lays `over` on top of this layer, key by key.
    pub fn apply(&mut self, over: ServiceLayer) {
        if over.dirs.is_some() {
            self.dirs = over.dirs;
        }
        if over.files.is_some() {
            self.files = over.files;
        }
        self.environment.extend(over.environment);
        self.commands.extend(over.commands);
        self.required_secrets.extend(over.required_secrets);
        if over.check_url.is_some() {
            self.check_url = over.check_url;
        }
        for (mine, theirs) in [
            (&mut self.timeout, over.timeout),
            (&mut self.check_timeout, over.check_timeout),
            (&mut self.check_interval, over.check_interval),
        ] {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
    }

    /// The merged service; `check-url` may only use variables the hooks
    /// will have (`[environment]` of the whole chain and the `LAVA_*` ones).
    pub fn finish(self, errors: &mut Vec<ManifestError>) -> Service {
        if let Some((url, at)) = &self.check_url {
            let known: BTreeMap<&str, String> = HOOK_VARIABLES
                .iter()
                .copied()
                .chain(self.environment.keys().map(String::as_str))
                .map(|v| (v, String::new()))
                .collect();
            if let Err(unknown) = expand_all(url, &known) {
                errors.push(error(
                    at,
                    format!(
                        "[hooks] check-url = {url:?} uses ${{{unknown}}}, which is neither in \
                         [environment] nor a lava-deploy variable ({})",
                        HOOK_VARIABLES.join(", ")
                    ),
                ));
            }
        }
        let mut hooks = Hooks {
            check_url: self.check_url.map(|(url, _)| url),
            timeout: self.timeout,
            check_timeout: self.check_timeout,
            check_interval: self.check_interval,
            ..Hooks::default()
        };
        for (phase, commands) in self.commands {
            *hooks.commands_mut(phase) = commands;
        }
        let mut service = Service {
            environment: self.environment,
            hooks,
            secrets: Secrets {
                required: self.required_secrets.into_iter().collect(),
                ..Secrets::default()
            },
            ..Service::default()
        };
        service.shared.dirs = self.dirs.unwrap_or_default();
        service.shared.files = self.files.unwrap_or_default();
        service
    }
}

fn error(at: &Location, message: String) -> ManifestError {
    ManifestError {
        at: at.clone(),
        message,
    }
}

/// Shared paths: relative, inside the instance's `shared/`, not one of the
/// release's own entries.
fn shared_paths(
    paths: Vec<String>,
    key: &str,
    at: &Location,
    errors: &mut Vec<ManifestError>,
) -> Vec<String> {
    let mut out = Vec::new();
    for path in paths {
        match normalize_branch_path(&path) {
            Some(normal) if !normal.is_empty() => {
                let first = normal.split('/').next().unwrap_or_default();
                if RELEASE_ENTRIES.contains(&first) {
                    errors.push(error(at, format!("[shared] {key}: {path:?} would replace the release's own {first}; pick another path")));
                } else {
                    out.push(normal);
                }
            }
            _ => errors.push(error(at, format!("[shared] {key}: {path:?} must be a relative path inside the instance's shared/ directory"))),
        }
    }
    out
}
