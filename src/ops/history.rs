//! The deploy history: one line per changing command, appended to
//! `instances/<name>/history.jsonl` while the command still holds the
//! instance lock. The lock a command takes through
//! [`Context::lock_instance`] stays with the context until [`record`]
//! (called by `outcome::tracked`, and by `remove`) has written the line;
//! only then is it released. `history NAME` reads it back.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::Context;
use crate::core::error::{Error, Result};
use crate::core::history::{CheckRun, History, HistoryEntry, HistoryOutcome};
use crate::core::names::InstanceName;
use crate::store::{Instance, InstanceLock};

/// The lock a changing command holds, kept until its line is written.
#[derive(Debug)]
pub struct Held {
    pub(super) instance: Instance,
    pub(super) action: String,
    /// `current` when the lock was taken.
    pub(super) before: Option<String>,
    pub(super) _lock: Arc<InstanceLock>,
}

/// What a command did, as its line needs it (`outcome::Trail::summary`).
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// `current` or the instance record changed.
    pub changed: bool,
    pub rolled_back: bool,
    pub failed_release: Option<String>,
    /// The last health check that ran.
    pub check: Option<CheckRun>,
    /// Releases removed (`prune`).
    pub removed: Vec<String>,
    /// The manifest commit of the release `current` points at after.
    pub commit: Option<String>,
}

/// When a command started.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    at: SystemTime,
    clock: Instant,
}

impl Started {
    pub fn now() -> Self {
        Started {
            at: SystemTime::now(),
            clock: Instant::now(),
        }
    }
}

/// Appends the line of the command that holds `ctx`'s lock, if it changed
/// something or failed (exit 1), then releases the lock. A command that
/// held no lock (refused before, or busy), or whose instance is gone (a
/// first install that left nothing), or that found nothing to do or was
/// refused (exit 2) without changing anything, leaves no line. A line
/// that cannot be written is a warning: what the command did stands.
pub fn record(ctx: &Context, started: &Started, summary: Summary, error: Option<&Error>) {
    let Some(held) = ctx.release_held() else {
        return;
    };
    if !crate::infra::interrupt::take_last_word() {
        // A signal came first: its line is being written.
        return;
    }
    // A refusal (bad input, a manifest error: exit 2) that changed nothing
    // is not history.
    let failed = matches!(error, Some(Error::Failed(_)));
    if !held.instance.exists() || !(summary.changed || failed) {
        return;
    }
    let entry = entry(&held, started, summary, error);
    if let Err(err) = held.instance.append_history(&entry) {
        tracing::warn!(
            "the history of instance {} misses this `{}`: {err:#}",
            held.instance.name,
            held.action
        );
    }
    drop(held);
}

/// Has a SIGINT or SIGTERM while `held` is held append the command's
/// line (`interrupted`) before the process exits.
pub(super) fn on_interrupt(held: &Held, started: Started) {
    let instance = held.instance.clone();
    let action = held.action.clone();
    let before = held.before.clone();
    crate::infra::interrupt::set_last_word(Box::new(move |signal| {
        if !instance.exists() {
            return;
        }
        let summary = Summary::default();
        let error = format!("interrupted by {signal}");
        let mut entry = entry_of(&instance, &action, before, &started, summary, Some(error));
        entry.outcome = HistoryOutcome::Interrupted;
        let _ = instance.append_history(&entry);
    }));
}

fn entry(held: &Held, started: &Started, summary: Summary, error: Option<&Error>) -> HistoryEntry {
    let first_line = error.map(|err| {
        err.to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    let remove_done = held.action == "remove" && error.is_none();
    let mut entry = entry_of(
        &held.instance,
        &held.action,
        held.before.clone(),
        started,
        summary,
        first_line,
    );
    if remove_done {
        // A removed instance serves nothing (its line is written just before it goes).
        entry.to = None;
    }
    entry
}

fn entry_of(
    instance: &Instance,
    action: &str,
    before: Option<String>,
    started: &Started,
    summary: Summary,
    error: Option<String>,
) -> HistoryEntry {
    let outcome = match &error {
        None => HistoryOutcome::Ok,
        Some(_) if summary.rolled_back => HistoryOutcome::RolledBack,
        Some(_) => HistoryOutcome::Failed,
    };
    HistoryEntry {
        time: crate::core::time::rfc3339(started.at),
        user: user(),
        host: host(),
        command: std::env::args_os()
            .map(|word| word.to_string_lossy().into_owned())
            .collect(),
        action: action.to_owned(),
        from: before,
        to: instance.current_release().map(|r| r.to_string()),
        commit: summary.commit,
        outcome,
        seconds: (started.clock.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        failed_release: summary.failed_release,
        check: summary.check,
        error,
        removed: summary.removed,
    }
}

/// Who runs lava-deploy: the user behind `sudo` first, then `USER`, then
/// the account of the uid.
fn user() -> String {
    use crate::core::env_vars::{SUDO_USER, USER};
    [SUDO_USER, USER]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| {
            // SAFETY: getuid(2) cannot fail and touches no memory.
            let uid = unsafe { libc::getuid() };
            account_name(uid).unwrap_or_else(|| format!("uid {uid}"))
        })
}

/// The account name of `uid` (the password database), if it has one.
fn account_name(uid: libc::uid_t) -> Option<String> {
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buffer = vec![0 as libc::c_char; 4096];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r(3) writes the entry's strings into `buffer`, of
    // the length given, and sets `found` to `&entry` or null.
    let status = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if status != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points at a NUL-terminated string inside `buffer`.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

fn host() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname(2) writes at most `len` bytes into the buffer.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return "unknown".to_owned();
    }
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// `history NAME`: the entries, oldest first (the last `limit` of them),
/// and the lines that could not be read.
pub fn history(ctx: &Context, name: &InstanceName, limit: Option<usize>) -> Result<History> {
    let (instance, _) = ctx.existing_instance(name).map_err(|err| {
        let kept = ctx.root.kept_histories(name);
        match (err, kept.last()) {
            (Error::Invalid(message), Some(last)) => Error::Invalid(format!(
                "{message}; the history of the instance removed last is {}",
                last.display()
            )),
            (err, _) => err,
        }
    })?;
    let mut history = instance.read_history()?;
    if let Some(limit) = limit {
        let skip = history.entries.len().saturating_sub(limit);
        history.entries.drain(..skip);
    }
    Ok(history)
}
