//! The deploy history (`instances/<name>/history.jsonl`): one JSON object
//! per line, one line per command that held the instance lock and changed
//! something or failed. Appended, never rewritten; a reader skips a line it
//! cannot read (the torn end of a write a crash cut short) and says so.

use serde::{Deserialize, Serialize};

/// One command, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When the command started (RFC 3339, UTC).
    pub time: String,
    /// Who ran it: `SUDO_USER`, else `USER`, else the uid's account name.
    pub user: String,
    pub host: String,
    /// The command line, word by word.
    pub command: Vec<String>,
    /// `install`, `upgrade`, `rebuild`, `rollback`, `develop`, `undevelop`,
    /// `stop`, `start`, `prune`, `remove`.
    pub action: String,
    /// The release `current` pointed at before, and after.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The manifest commit of the release `current` points at after.
    pub commit: Option<String>,
    pub outcome: HistoryOutcome,
    pub seconds: f64,
    /// The release whose post-switch or check failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_release: Option<String>,
    /// The last health check that ran, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckRun>,
    /// The error's first line, when the command failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the command removed (`prune`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HistoryOutcome {
    /// It did what it was asked.
    Ok,
    /// It failed; `current` is where the entry's `to` says.
    Failed,
    /// A new release failed its post-switch or check and the previous one
    /// was put back (the automatic rollback).
    RolledBack,
    /// SIGINT or SIGTERM stopped it (what it was building is removed).
    Interrupted,
}

impl HistoryOutcome {
    pub fn name(self) -> &'static str {
        match self {
            HistoryOutcome::Ok => "ok",
            HistoryOutcome::Failed => "failed",
            HistoryOutcome::RolledBack => "rolled-back",
            HistoryOutcome::Interrupted => "interrupted",
        }
    }
}

/// A release's health check: every check command and `check-url` of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRun {
    pub release: String,
    pub ok: bool,
    pub seconds: f64,
}

/// A line of the file that is not an entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedLine {
    /// 1-based.
    pub line: usize,
    /// The last line without its newline: a write cut short.
    pub torn: bool,
    pub reason: String,
}

/// The file read: its entries, oldest first, and the lines skipped.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub entries: Vec<HistoryEntry>,
    pub skipped: Vec<SkippedLine>,
}

impl HistoryEntry {
    /// The entry as one line, newline included.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("a history entry is JSON");
        line.push('\n');
        line
    }
}

impl History {
    /// Reads the file's text. Empty lines are ignored; any other line that
    /// is not an entry is skipped and listed.
    pub fn parse(text: &str) -> Self {
        let mut history = History::default();
        let ends_clean = text.is_empty() || text.ends_with('\n');
        let lines: Vec<&str> = text.split('\n').collect();
        let last = lines.len().saturating_sub(1);
        for (index, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<HistoryEntry>(line) {
                Ok(entry) => history.entries.push(entry),
                Err(err) => history.skipped.push(SkippedLine {
                    line: index + 1,
                    torn: index == last && !ends_clean,
                    reason: err.to_string(),
                }),
            }
        }
        history
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> HistoryEntry {
        HistoryEntry {
            time: "2026-12-06T05:00:00Z".into(),
            user: "alice".into(),
            host: "lab".into(),
            command: vec!["lava-deploy".into(), action.into(), "x".into()],
            action: action.into(),
            from: None,
            to: Some("0001-a".into()),
            commit: None,
            outcome: HistoryOutcome::Ok,
            seconds: 1.5,
            failed_release: None,
            check: None,
            error: None,
            removed: vec![],
        }
    }

    #[test]
    fn round_trip_and_torn_lines() {
        let a = entry("install");
        let b = entry("upgrade");
        let whole = format!("{}{}", a.to_line(), b.to_line());
        let read = History::parse(&whole);
        assert_eq!(read.entries, [a.clone(), b.clone()]);
        assert!(read.skipped.is_empty());

        let torn = &whole[..whole.len() - 10];
        let read = History::parse(torn);
        assert_eq!(read.entries, std::slice::from_ref(&a));
        assert_eq!(read.skipped.len(), 1);
        assert!(read.skipped[0].torn);
        assert_eq!(read.skipped[0].line, 2);

        // A torn line followed by later entries: skipped, not torn.
        let later = format!("{torn}\n{}", a.to_line());
        let read = History::parse(&later);
        assert_eq!(read.entries.len(), 2);
        assert_eq!(read.skipped.len(), 1);
        assert!(!read.skipped[0].torn);
    }
}
