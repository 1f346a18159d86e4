//! A release's hooks, run the way the contract says: in the release
//! directory, with the `LAVA_*` variables, `[environment]` and then the
//! instance's secrets (a secret wins over an `[environment]` key of the same
//! name), `PATH` starting at the release's `bin/`, output to
//! `logs/<release>.log` with every secret value shown as `***`. `exec`
//! builds its environment here too ([`release_environment`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::outcome::{HookRun, Trail};
use super::Context;
use crate::core::error::{Error, Result};
use crate::core::names::ReleaseName;
use crate::core::secrets::{Redactor, SecretValues};
use crate::core::service::{expand, expand_all, Phase, Service};
use crate::infra::shell::{run_shell, ShellCommand};
use crate::store::Instance;

/// Which release the hooks belong to, and where they run.
pub struct HookTarget<'a> {
    pub release: &'a ReleaseName,
    pub service: &'a Service,
    pub previous: Option<&'a ReleaseName>,
    /// The release directory (the instance directory for `setup`, which
    /// runs before the release exists).
    pub cwd: PathBuf,
}

pub struct Hooks<'a> {
    ctx: &'a Context,
    instance: &'a Instance,
    said_skipped: std::cell::Cell<bool>,
}

impl<'a> Hooks<'a> {
    pub fn new(ctx: &'a Context, instance: &'a Instance) -> Self {
        Hooks {
            ctx,
            instance,
            said_skipped: std::cell::Cell::new(false),
        }
    }

    fn enabled(&self, target: &HookTarget, phase: Phase) -> bool {
        let has = !target.service.hooks.commands(phase).is_empty()
            || (phase == Phase::Check && target.service.hooks.check_url.is_some());
        if has && self.ctx.settings.no_hooks {
            if !self.said_skipped.replace(true) {
                tracing::warn!(
                    "--no-hooks: the hooks of {} are NOT run (starting with {phase}); \
                     the service may not match the release",
                    target.release
                );
            }
            return false;
        }
        has
    }

    /// The log of a release's hooks.
    pub fn log_path(&self, release: &ReleaseName) -> PathBuf {
        self.instance.logs_dir().join(format!("{release}.log"))
    }

    fn variables(&self, target: &HookTarget, phase: Phase) -> Result<Variables> {
        Variables::new(
            self.instance,
            target.release,
            target.service,
            target.previous,
            phase.name(),
        )
    }

    /// Runs every command of `phase`, in order; the first failure stops it.
    pub fn run_phase(&self, target: &HookTarget, phase: Phase, trail: &mut Trail) -> Result<()> {
        if phase == Phase::Check {
            return self.run_check(target, trail);
        }
        if !self.enabled(target, phase) {
            return Ok(());
        }
        for command in target.service.hooks.commands(phase) {
            let timeout = target.service.hooks.timeout();
            let outcome = self.run_one(target, phase, command, timeout, trail)?;
            if let Err(message) = outcome {
                return Err(Error::Failed(anyhow::anyhow!(message)));
            }
        }
        Ok(())
    }

    /// One command; `Ok(Err(message))` when it ran and failed.
    fn run_one(
        &self,
        target: &HookTarget,
        phase: Phase,
        command: &str,
        timeout: Duration,
        trail: &mut Trail,
    ) -> Result<std::result::Result<(), String>> {
        let secrets = super::secrets::values(self.instance)?;
        let redactor = secrets.redactor();
        let shown = redactor.redact_text(command);
        tracing::info!("{phase} hook of {}: {}", target.release, one_line(&shown));
        let env = self.variables(target, phase)?.with_secrets(&secrets);
        let log = self.log_path(target.release);
        let header = format!(
            "{phase} of {} at {}: {command}",
            target.release,
            crate::core::time::rfc3339(std::time::SystemTime::now())
        );
        let outcome = run_shell(&ShellCommand {
            command,
            cwd: &target.cwd,
            env: &env,
            timeout,
            log: &log,
            header: &header,
            echo: self.ctx.settings.verbose,
            redactor: &redactor,
        })?;
        let command = shown.as_str();
        trail.hooks.push(HookRun {
            phase,
            release: target.release.to_string(),
            command: command.to_owned(),
            ok: outcome.ok,
            seconds: (outcome.seconds * 10.0).round() / 10.0,
        });
        if outcome.ok {
            return Ok(Ok(()));
        }
        let tail = if outcome.tail.is_empty() {
            "(no output)".to_owned()
        } else {
            outcome.tail.join("\n    ")
        };
        Ok(Err(format!(
            "{phase} hook of release {} failed ({}): {}\n    {tail}\n  (log: {})",
            target.release,
            outcome.status,
            one_line(command),
            log.display()
        )))
    }

    /// The health check: every `check` command and `check-url` must pass,
    /// tried again every `check-interval` until `check-timeout`.
    fn run_check(&self, target: &HookTarget, trail: &mut Trail) -> Result<()> {
        if !self.enabled(target, Phase::Check) {
            return Ok(());
        }
        let hooks = &target.service.hooks;
        let started = Instant::now();
        let deadline = started + hooks.check_timeout();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            let mut failure = None;
            let mut runs = Vec::new();
            for command in &hooks.check {
                let timeout = hooks.timeout().min(left.max(Duration::from_secs(1)));
                let mut attempt = Trail::default();
                let outcome = self.run_one(target, Phase::Check, command, timeout, &mut attempt)?;
                runs.extend(attempt.hooks);
                if let Err(message) = outcome {
                    failure = Some(message);
                    break;
                }
            }
            if let (None, Some(url)) = (&failure, &hooks.check_url) {
                let url = self.variables(target, Phase::Check)?.expand_url(url)?;
                let url = &url;
                let probe_started = Instant::now();
                let answer = crate::infra::http::probe(
                    url,
                    left.clamp(Duration::from_secs(1), Duration::from_secs(10)),
                );
                runs.push(HookRun {
                    phase: Phase::Check,
                    release: target.release.to_string(),
                    command: format!("GET {url}"),
                    ok: answer.is_ok(),
                    seconds: (probe_started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                });
                if let Err(why) = answer {
                    failure = Some(format!(
                        "check of release {}: {why} (expected a 2xx answer)",
                        target.release
                    ));
                }
            }
            let Some(failure) = failure else {
                trail.hooks.extend(runs);
                return Ok(());
            };
            if Instant::now() + hooks.check_interval() >= deadline {
                trail.hooks.extend(runs);
                return Err(Error::Failed(anyhow::anyhow!(
                    "the health check of release {} did not pass within {} ({attempts} {}); last failure: {failure}",
                    target.release,
                    humantime::format_duration(hooks.check_timeout()),
                    if attempts == 1 { "attempt" } else { "attempts" }
                )));
            }
            tracing::debug!("check of {} not passing yet: {failure}", target.release);
            std::thread::sleep(hooks.check_interval());
        }
    }
}

/// What a release's commands run with, before the secrets: the `LAVA_*`
/// variables and `[environment]` (its `${LAVA_*}` expanded).
struct Variables {
    lava: BTreeMap<&'static str, String>,
    environment: Vec<(String, String)>,
    release_dir: PathBuf,
}

impl Variables {
    fn new(
        instance: &Instance,
        release: &ReleaseName,
        service: &Service,
        previous: Option<&ReleaseName>,
        phase: &str,
    ) -> Result<Self> {
        let release_dir = instance.release_dir(release);
        let mut lava: BTreeMap<&'static str, String> = BTreeMap::new();
        lava.insert("LAVA_INSTANCE", instance.name.to_string());
        lava.insert("LAVA_INSTANCE_DIR", path_text(&instance.dir));
        lava.insert("LAVA_SHARED_DIR", path_text(&instance.shared_dir()));
        lava.insert("LAVA_RELEASE", release.to_string());
        lava.insert("LAVA_RELEASE_DIR", path_text(&release_dir));
        lava.insert(
            "LAVA_PREVIOUS_RELEASE",
            previous.map(ToString::to_string).unwrap_or_default(),
        );
        lava.insert("LAVA_PHASE", phase.to_owned());
        let mut environment = Vec::new();
        for (key, value) in &service.environment {
            let value = expand(value, &lava).map_err(|unknown| {
                crate::invalid!("[environment] {key} uses the unknown variable ${{{unknown}}}")
            })?;
            environment.push((key.clone(), value));
        }
        Ok(Variables {
            lava,
            environment,
            release_dir,
        })
    }

    /// `check-url` with its `${VAR}` from `[environment]` and `LAVA_*`
    /// (never a secret: the URL is shown in reports).
    fn expand_url(&self, url: &str) -> Result<String> {
        let mut known = self.lava.clone();
        for (key, value) in &self.environment {
            known.insert(key.as_str(), value.clone());
        }
        expand_all(url, &known).map_err(|unknown| {
            crate::invalid!("[hooks] check-url {url:?} uses the unknown variable ${{{unknown}}}")
        })
    }

    /// The whole environment: `LAVA_*`, `[environment]`, the secrets (last
    /// but for `PATH`, so a secret wins), `PATH` from the release's `bin/`.
    fn with_secrets(self, secrets: &SecretValues) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = self
            .lava
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        vars.extend(self.environment);
        vars.extend(secrets.values.iter().map(|(k, v)| (k.clone(), v.clone())));
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![self.release_dir.join("bin")];
        dirs.extend(std::env::split_paths(&path));
        let path = std::env::join_paths(dirs)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| path.to_string_lossy().into_owned());
        vars.push(("PATH".to_owned(), path));
        vars
    }
}

/// The environment a command of `release` runs with, as its hooks get it,
/// with `LAVA_PHASE=phase` (`exec`), and what hides the secrets.
pub fn release_environment(
    instance: &Instance,
    release: &ReleaseName,
    service: &Service,
    phase: &str,
) -> Result<(Vec<(String, String)>, Redactor)> {
    let secrets = super::secrets::values(instance)?;
    let previous = None;
    let vars = Variables::new(instance, release, service, previous, phase)?;
    Ok((vars.with_secrets(&secrets), secrets.redactor()))
}

/// A release's `check-url` as its check gets it (`None`: it has none).
pub fn check_url(
    instance: &Instance,
    release: &ReleaseName,
    service: &Service,
) -> Result<Option<String>> {
    let Some(url) = &service.hooks.check_url else {
        return Ok(None);
    };
    let vars = Variables::new(instance, release, service, None, Phase::Check.name())?;
    vars.expand_url(url).map(Some)
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A hook command as the terminal shows it: its first line, with `…` when
/// more follow (a multi-line script is in the log whole).
fn one_line(command: &str) -> String {
    let mut lines = command.trim().lines();
    let first = lines.next().unwrap_or_default();
    if lines.next().is_some() {
        format!("{first} …")
    } else {
        first.to_owned()
    }
}
