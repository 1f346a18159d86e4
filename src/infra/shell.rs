//! Running a service's hook: one shell command, in its own process group,
//! with a timeout, its output appended to a log file (and, on request,
//! copied to the terminal), and the last lines kept for the error message.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fs_err as fs;

/// One command to run.
pub struct ShellCommand<'a> {
    pub command: &'a str,
    pub cwd: &'a Path,
    /// Added to lava-deploy's own environment.
    pub env: &'a [(String, String)],
    pub timeout: Duration,
    /// Appended to; created with its directory when missing.
    pub log: &'a Path,
    /// The first line written to the log before the output.
    pub header: &'a str,
    /// Copy the output to stderr as it comes.
    pub echo: bool,
}

#[derive(Debug, Clone)]
pub struct ShellOutcome {
    pub ok: bool,
    /// `exit status 3`, `killed after the 10s timeout`, …
    pub status: String,
    pub seconds: f64,
    /// The last lines of its output.
    pub tail: Vec<String>,
}

/// How many lines of output an error shows.
const TAIL_LINES: usize = 12;

pub fn run_shell(cmd: &ShellCommand) -> Result<ShellOutcome> {
    if let Some(dir) = cmd.log.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(cmd.log)?;
    writeln!(log, "== {}", cmd.header)?;
    let start = log.metadata()?.len();
    let output = log.file().try_clone()?;
    let errors = log.file().try_clone()?;
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(cmd.command)
        .current_dir(cmd.cwd)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        // Straight into the log, not through pipes: a hook that starts a
        // daemon in the background must not keep us waiting for its output.
        .stdout(Stdio::from(output))
        .stderr(Stdio::from(errors));
    let started = Instant::now();
    let (mut child, _registered) = crate::infra::interrupt::spawn_child(&mut command)
        .with_context(|| format!("cannot run /bin/sh -c {:?}", cmd.command))?;
    let mut echoed = start;
    let status = loop {
        if cmd.echo {
            echoed = echo_new_output(cmd.log, echoed);
        }
        if let Some(status) = child.try_wait()? {
            break status.to_string();
        }
        if started.elapsed() >= cmd.timeout {
            crate::infra::interrupt::stop_groups(&[child.id()]);
            let _ = child.wait();
            break format!(
                "killed after the {} timeout",
                humantime::format_duration(cmd.timeout)
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    };
    if cmd.echo {
        echo_new_output(cmd.log, echoed);
    }
    let ok = status == "exit status: 0";
    let seconds = started.elapsed().as_secs_f64();
    let tail = if ok {
        Vec::new()
    } else {
        last_lines(cmd.log, start)
    };
    writeln!(log, "== {status} after {seconds:.1}s")?;
    Ok(ShellOutcome {
        ok,
        status: status.replace("exit status: ", "exit status "),
        seconds,
        tail,
    })
}

/// Copies what the log gained since `from` to stderr; returns the new end.
fn echo_new_output(log: &Path, from: u64) -> u64 {
    let Ok(mut file) = std::fs::File::open(log) else {
        return from;
    };
    let mut new = Vec::new();
    if file.seek(SeekFrom::Start(from)).is_err() || file.read_to_end(&mut new).is_err() {
        return from;
    }
    let _ = crate::infra::progress::LogWriter.write_all(&new);
    from + new.len() as u64
}

/// The last non-empty lines written to `log` after `from`.
fn last_lines(log: &Path, from: u64) -> Vec<String> {
    let mut text = Vec::new();
    if let Ok(mut file) = std::fs::File::open(log) {
        if file.seek(SeekFrom::Start(from)).is_ok() {
            let _ = file.read_to_end(&mut text);
        }
    }
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(command: &str, timeout: Duration) -> (ShellOutcome, String) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("logs/x.log");
        let outcome = run_shell(&ShellCommand {
            command,
            cwd: dir.path(),
            env: &[("GREETING".into(), "hello".into())],
            timeout,
            log: &log,
            header: "test",
            echo: false,
        })
        .unwrap();
        (outcome, std::fs::read_to_string(&log).unwrap())
    }

    #[test]
    fn output_goes_to_the_log_and_failures_keep_the_tail() {
        let (ok, log) = run("echo $GREETING", Duration::from_secs(10));
        assert!(ok.ok, "{ok:?}");
        assert!(log.contains("== test\nhello\n== exit status: 0"), "{log}");
        let (failed, _) = run("echo one; echo two >&2; exit 3", Duration::from_secs(10));
        assert!(!failed.ok);
        assert_eq!(failed.status, "exit status 3");
        assert_eq!(failed.tail, ["one", "two"]);
    }

    #[test]
    fn a_hung_command_is_killed_at_its_timeout() {
        let started = Instant::now();
        let (outcome, _) = run("sleep 30", Duration::from_millis(300));
        assert!(!outcome.ok);
        assert!(outcome.status.contains("timeout"), "{}", outcome.status);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_background_daemon_does_not_hold_the_hook() {
        let started = Instant::now();
        let (outcome, _) = run("sleep 20 & echo started", Duration::from_secs(10));
        assert!(outcome.ok);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
