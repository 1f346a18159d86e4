//! Running a service's hook: one shell command (`/bin/sh -e -c`: the first
//! failing command fails it), in its own process group, with a timeout, its
//! output appended to a log file (and, on request, copied to the terminal),
//! and the last lines kept for the error message. Secret values are
//! replaced by `***` in all three.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fs_err as fs;

use crate::core::secrets::Redactor;

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
    /// The values the log, the terminal and the tail must not show.
    pub redactor: &'a Redactor,
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
    writeln!(log, "== {}", cmd.redactor.redact_text(cmd.header))?;
    let start = log.metadata()?.len();
    let output = log.file().try_clone()?;
    let errors = log.file().try_clone()?;
    let mut command = Command::new("/bin/sh");
    command
        .arg("-e")
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
        .with_context(|| {
            format!(
                "cannot run /bin/sh -e -c {:?}",
                cmd.redactor.redact_text(cmd.command)
            )
        })?;
    let mut echoed = start;
    let mut echo_redactor = cmd.redactor.clone();
    let status = loop {
        if cmd.echo {
            echoed = echo_new_output(cmd.log, echoed, &mut echo_redactor);
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
        echo_new_output(cmd.log, echoed, &mut echo_redactor);
        let _ = crate::infra::progress::LogWriter.write_all(&echo_redactor.finish());
    }
    redact_log(cmd.log, start, cmd.redactor)?;
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

/// Runs `program` in the foreground as the user's own command (`exec`):
/// standard input, output and error inherited, and its exit status
/// returned as a shell gives it (`128 + N` when signal N killed it). While
/// it runs, this process ignores SIGINT and SIGQUIT, as `system(3)` does:
/// Ctrl-C at the terminal is the command's to handle.
pub fn run_foreground(
    program: &std::ffi::OsStr,
    args: &[std::ffi::OsString],
    cwd: &Path,
    env: &[(String, String)],
) -> std::io::Result<i32> {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k, v)));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGQUIT, libc::SIG_DFL);
            Ok(())
        });
    }
    // SAFETY: setting a disposition to SIG_IGN and back is always sound.
    let previous = unsafe {
        (
            libc::signal(libc::SIGINT, libc::SIG_IGN),
            libc::signal(libc::SIGQUIT, libc::SIG_IGN),
        )
    };
    let status = command.spawn().and_then(|mut child| child.wait());
    unsafe {
        libc::signal(libc::SIGINT, previous.0);
        libc::signal(libc::SIGQUIT, previous.1);
    }
    let status = status?;
    Ok(status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1))
}

/// Copies what the log gained since `from` to stderr, secrets hidden;
/// returns the new end.
fn echo_new_output(log: &Path, from: u64, redactor: &mut Redactor) -> u64 {
    let Ok(mut file) = std::fs::File::open(log) else {
        return from;
    };
    let mut new = Vec::new();
    if file.seek(SeekFrom::Start(from)).is_err() || file.read_to_end(&mut new).is_err() {
        return from;
    }
    let _ = crate::infra::progress::LogWriter.write_all(&redactor.push(&new));
    from + new.len() as u64
}

/// Rewrites what the hook wrote to the log after `from` with the secrets
/// hidden. The hook writes straight into the log (so a daemon it leaves
/// running never blocks on a pipe); what such a daemon writes after the
/// hook ended is not rewritten.
fn redact_log(log: &Path, from: u64, redactor: &Redactor) -> Result<()> {
    if redactor.is_empty() {
        return Ok(());
    }
    let mut file = fs::OpenOptions::new().read(true).write(true).open(log)?;
    let mut written = Vec::new();
    file.seek(SeekFrom::Start(from))?;
    file.read_to_end(&mut written)?;
    let redacted = redactor.redact(&written);
    if redacted != written {
        file.set_len(from)?;
        file.seek(SeekFrom::Start(from))?;
        file.write_all(&redacted)?;
    }
    Ok(())
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
            redactor: &Redactor::new(["s3cret-value"]),
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
    fn the_first_failing_command_fails_a_multi_line_hook() {
        let (outcome, log) = run("false\necho done", Duration::from_secs(10));
        assert!(!outcome.ok, "{log}");
        assert!(!log.contains("done"), "{log}");
        let (outcome, _) = run("false; echo done", Duration::from_secs(10));
        assert!(!outcome.ok);
    }

    #[test]
    fn secret_values_are_hidden_in_the_log_and_the_tail() {
        let (outcome, log) = run("echo a s3cret-value b; exit 1", Duration::from_secs(10));
        assert_eq!(outcome.tail, ["a *** b"]);
        assert!(log.contains("a *** b") && !log.contains("s3cret"), "{log}");
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
