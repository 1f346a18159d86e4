//! `history NAME [--json] [--limit N]`: the instance's deploy history.

use crate::cli::color::{Paint, Tone};
use crate::core::error::Result;
use crate::core::history::{HistoryEntry, HistoryOutcome};
use crate::core::names::InstanceName;
use crate::ops::Context;

pub fn run(ctx: &Context, name: &InstanceName, json: bool, limit: Option<usize>) -> Result<()> {
    let history = crate::ops::history::history(ctx, name, limit)?;
    let path = ctx.instance(name).history_path();
    for skipped in &history.skipped {
        let why = if skipped.torn {
            "its last line was cut short (a crash while it was written)"
        } else {
            "a line is not a history entry"
        };
        tracing::warn!(
            "{}: {why}; line {} is skipped ({})",
            path.display(),
            skipped.line,
            skipped.reason
        );
    }
    if json {
        return super::print_json(&history.entries);
    }
    if history.entries.is_empty() {
        println!("{name}: no history yet ({})", path.display());
        return Ok(());
    }
    let paint = Paint::stdout();
    let who = history.entries.iter().map(|e| who(e).chars().count()).max();
    for entry in &history.entries {
        println!("{}", line(entry, &paint, who.unwrap_or(0)));
        if let Some(error) = &entry.error {
            println!("    {error}");
        }
    }
    Ok(())
}

fn who(entry: &HistoryEntry) -> String {
    format!("{}@{}", entry.user, entry.host)
}

/// `TIME  USER@HOST  ACTION  FROM → TO  OUTCOME  SECONDS`, `USER@HOST`
/// padded to `who_width`.
pub fn line(entry: &HistoryEntry, paint: &Paint, who_width: usize) -> String {
    let releases = match (&entry.from, &entry.to) {
        (from, to) if from == to => to.clone().unwrap_or_else(|| "-".to_owned()),
        (from, to) => format!(
            "{} → {}",
            from.as_deref().unwrap_or("-"),
            to.as_deref().unwrap_or("-")
        ),
    };
    let mut outcome = outcome_text(entry.outcome, paint);
    if let Some(failed) = &entry.failed_release {
        outcome.push_str(&format!(" ({failed} failed)"));
    }
    format!(
        "{}  {:who_width$}  {:9}  {releases}  {outcome}  {:.1} s",
        entry.time,
        who(entry),
        entry.action,
        entry.seconds
    )
}

pub fn outcome_text(outcome: HistoryOutcome, paint: &Paint) -> String {
    let tone = match outcome {
        HistoryOutcome::Ok => return outcome.name().to_owned(),
        HistoryOutcome::Failed | HistoryOutcome::Interrupted => Tone::Bad,
        HistoryOutcome::RolledBack => Tone::Warn,
    };
    paint.tone(tone, outcome.name())
}
