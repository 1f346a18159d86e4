//! A release's hooks, run the way the contract says: in the release
//! directory, with the `LAVA_*` variables and `[environment]`, `PATH`
//! starting at the release's `bin/`, output to `logs/<release>.log`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::report::{HookRun, Report};
use super::Context;
use crate::core::error::{Error, Result};
use crate::core::names::ReleaseName;
use crate::core::service::{expand, Phase, Service};
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

    fn variables(&self, target: &HookTarget, phase: Phase) -> Result<Vec<(String, String)>> {
        let release_dir = self.instance.release_dir(target.release);
        let mut lava: BTreeMap<&str, String> = BTreeMap::new();
        lava.insert("LAVA_INSTANCE", self.instance.name.to_string());
        lava.insert("LAVA_INSTANCE_DIR", path_text(&self.instance.dir));
        lava.insert("LAVA_SHARED_DIR", path_text(&self.instance.shared_dir()));
        lava.insert("LAVA_RELEASE", target.release.to_string());
        lava.insert("LAVA_RELEASE_DIR", path_text(&release_dir));
        lava.insert(
            "LAVA_PREVIOUS_RELEASE",
            target.previous.map(ToString::to_string).unwrap_or_default(),
        );
        lava.insert("LAVA_PHASE", phase.name().to_owned());
        let mut vars: Vec<(String, String)> = lava
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        for (key, value) in &target.service.environment {
            let value = expand(value, &lava).map_err(|unknown| {
                crate::invalid!("[environment] {key} uses the unknown variable ${{{unknown}}}")
            })?;
            vars.push((key.clone(), value));
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![release_dir.join("bin")];
        dirs.extend(std::env::split_paths(&path));
        let path = std::env::join_paths(dirs).map_err(anyhow::Error::from)?;
        vars.push(("PATH".to_owned(), path.to_string_lossy().into_owned()));
        Ok(vars)
    }

    /// Runs every command of `phase`, in order; the first failure stops it.
    pub fn run_phase(&self, target: &HookTarget, phase: Phase, report: &mut Report) -> Result<()> {
        if phase == Phase::Check {
            return self.run_check(target, report);
        }
        if !self.enabled(target, phase) {
            return Ok(());
        }
        for command in target.service.hooks.commands(phase) {
            let timeout = target.service.hooks.timeout();
            let outcome = self.run_one(target, phase, command, timeout, report)?;
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
        report: &mut Report,
    ) -> Result<std::result::Result<(), String>> {
        let shown = one_line(command);
        tracing::info!("{phase} hook of {}: {shown}", target.release);
        let env = self.variables(target, phase)?;
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
        })?;
        report.hooks.push(HookRun {
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
            "{phase} hook of release {} failed ({}): {shown}\n    {tail}\n  (log: {})",
            target.release,
            outcome.status,
            log.display()
        )))
    }

    /// The health check: every `check` command and `check-url` must pass,
    /// tried again every `check-interval` until `check-timeout`.
    fn run_check(&self, target: &HookTarget, report: &mut Report) -> Result<()> {
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
                let mut attempt = Report::default();
                let outcome = self.run_one(target, Phase::Check, command, timeout, &mut attempt)?;
                runs.extend(attempt.hooks);
                if let Err(message) = outcome {
                    failure = Some(message);
                    break;
                }
            }
            if let (None, Some(url)) = (&failure, &hooks.check_url) {
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
                report.hooks.extend(runs);
                return Ok(());
            };
            if Instant::now() + hooks.check_interval() >= deadline {
                report.hooks.extend(runs);
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
