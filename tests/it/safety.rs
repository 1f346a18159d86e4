//! Safety holes, each proved closed with real processes: archive members
//! that would escalate privileges or escape the release, unbounded retry
//! backoff, git authentication that never gives up, git fetches that give
//! up too early, and installer children left running after a signal.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{list_dir, sha256_hex, stderr_of, Env, HttpServer};

// ---------------------------------------------------------------------------
// Archive members

/// One member of a test archive.
enum Member<'a> {
    File(&'a str, u32, &'a str),
    Dir(&'a str, u32),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}

/// A `.tar.gz` holding exactly `members`, modes and link targets as given
/// (no sanitising: this is what a hostile server could send).
fn tar_gz_of(members: &[Member]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for member in members {
        let mut header = tar::Header::new_gnu();
        match member {
            Member::File(path, mode, contents) => {
                header.set_size(contents.len() as u64);
                header.set_mode(*mode);
                header.set_cksum();
                builder
                    .append_data(&mut header, path, contents.as_bytes())
                    .unwrap();
            }
            Member::Dir(path, mode) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                header.set_mode(*mode);
                header.set_cksum();
                builder
                    .append_data(&mut header, path, std::io::empty())
                    .unwrap();
            }
            Member::Symlink(path, target) | Member::Hardlink(path, target) => {
                header.set_entry_type(if matches!(member, Member::Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                header.set_size(0);
                header.set_mode(0o777);
                builder.append_link(&mut header, path, target).unwrap();
            }
        }
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A manifest with one archive component `theme` served by `server`.
fn archive_manifest(server: &HttpServer, name: &str, body: &[u8]) -> (String, String) {
    let url = server.put(&format!("/{name}"), body.to_vec());
    let text = format!(
        "[components.theme]\nurl = \"{url}\"\nsha256 = \"{}\"\n",
        sha256_hex(body)
    );
    (url, text)
}

fn mode_of(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn archive_members_lose_setuid_setgid_and_sticky_bits() {
    let env = Env::new();
    let server = HttpServer::start();
    let body = tar_gz_of(&[
        Member::Dir("pkg", 0o755),
        Member::Dir("pkg/bin", 0o755),
        Member::File("pkg/bin/tool", 0o4755, "#!/bin/sh\necho tool\n"),
        Member::File("pkg/bin/group", 0o2750, "#!/bin/sh\n"),
        Member::Dir("pkg/shared", 0o2755),
        Member::File("pkg/shared/data", 0o644, "data\n"),
        Member::Dir("pkg/spool", 0o1777),
        // Links that stay inside are fine and kept as links.
        Member::Symlink("pkg/run", "bin/tool"),
        Member::Symlink("pkg/bin/data", "../shared/data"),
        Member::Hardlink("pkg/shared/copy", "pkg/shared/data"),
    ]);
    let (_, text) = archive_manifest(&server, "pkg-1.tar.gz", &body);
    let manifest = env.manifest_repo(&text, Some("v1"));
    env.install_from("x", &manifest).success();

    let theme = env.instance_dir("x").join("code/current/src/theme");
    assert_eq!(mode_of(&theme.join("bin/tool")), 0o755, "setuid dropped");
    assert_eq!(mode_of(&theme.join("bin/group")), 0o750, "setgid dropped");
    assert_eq!(mode_of(&theme.join("shared")), 0o755, "setgid dir dropped");
    assert_eq!(mode_of(&theme.join("spool")), 0o777, "sticky bit dropped");
    assert_eq!(
        std::fs::read_link(theme.join("run")).unwrap().to_str(),
        Some("bin/tool")
    );
    assert_eq!(
        std::fs::read_to_string(theme.join("bin/data")).unwrap(),
        "data\n"
    );
    assert_eq!(
        std::fs::read_to_string(theme.join("shared/copy")).unwrap(),
        "data\n"
    );
    env.run(&["verify", "x"]).success();
}

/// A zip whose only file claims mode 04755: the zip crate's writer masks
/// modes, so the external attributes are patched in the central directory.
fn setuid_zip() -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("pkg/tool", options).unwrap();
    zip.write_all(b"#!/bin/sh\n").unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    let central = bytes
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("a central directory header");
    let attrs = central + 38;
    let mut value = u32::from_le_bytes(bytes[attrs..attrs + 4].try_into().unwrap());
    assert_eq!(value >> 16, 0o100755, "unix mode in the high half");
    value |= 0o4000 << 16;
    bytes[attrs..attrs + 4].copy_from_slice(&value.to_le_bytes());
    bytes
}

#[test]
fn zip_members_lose_setuid_bits() {
    let env = Env::new();
    let server = HttpServer::start();
    let body = setuid_zip();
    let (_, text) = archive_manifest(&server, "pkg.zip", &body);
    let manifest = env.manifest_repo(&text, None);
    env.install_from("x", &manifest).success();
    let tool = env.instance_dir("x").join("code/current/src/theme/tool");
    assert_eq!(mode_of(&tool), 0o755);
}

/// Archives with one link pointing outside, each otherwise valid: the
/// case's name, its members (`outside` is a directory beside the root)
/// and the member to be named in the error.
fn escaping_archive<'a>(case: &str, outside: &'a str) -> (Vec<Member<'a>>, &'static str) {
    let css = Member::File("pkg/a.css", 0o644, "a\n");
    match case {
        // Climbs out of the release; the member after it would be written
        // through it if the link were made.
        "relative" => (
            vec![
                css,
                Member::Symlink("pkg/evil", "../../../../etc"),
                Member::File("pkg/evil/planted", 0o644, "planted\n"),
            ],
            "pkg/evil",
        ),
        "absolute" => (vec![css, Member::Symlink("pkg/abs", outside)], "pkg/abs"),
        // Inside the archive, but the top directory is stripped: this
        // would point at the other components in src/.
        "above the component" => (vec![css, Member::Symlink("pkg/up", "..")], "pkg/up"),
        // Each link looks harmless written down (`a/../../x` is `pkg/x`);
        // followed on disk, `b` leaves through `a`, which is `pkg/sub`.
        "chained" => (
            vec![
                css,
                Member::Dir("pkg/sub", 0o755),
                Member::Symlink("pkg/sub/b", "a/../../x"),
                Member::Symlink("pkg/sub/a", "."),
            ],
            "pkg/sub/b",
        ),
        "hardlink" => (
            vec![css, Member::Hardlink("pkg/passwd", outside)],
            "pkg/passwd",
        ),
        other => unreachable!("{other}"),
    }
}

#[test]
fn archive_links_pointing_outside_are_refused() {
    for case in [
        "relative",
        "absolute",
        "above the component",
        "chained",
        "hardlink",
    ] {
        let env = Env::new();
        let server = HttpServer::start();
        let outside = env.path("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("file"), "secret\n").unwrap();
        let target = outside.join("file").to_string_lossy().into_owned();
        let (members, member) = escaping_archive(case, &target);
        let body = tar_gz_of(&members);
        let (url, text) = archive_manifest(&server, "theme.tar.gz", &body);
        let manifest = env.manifest_repo(&text, None);
        let assert = env.install_from("x", &manifest).code(1);
        let stderr = stderr_of(&assert);
        assert!(stderr.contains(&url), "{case}: names the URL: {stderr}");
        assert!(
            stderr.contains(&format!("member \"{member}\"")),
            "{case}: names the member: {stderr}"
        );
        assert!(
            stderr.contains("points outside the component directory"),
            "{case}: {stderr}"
        );
        assert!(
            !env.instance_dir("x").join("code/current").exists(),
            "{case}: no current"
        );
        assert!(
            !env.instance_dir("x").exists(),
            "{case}: a failed install leaves nothing"
        );
        assert_eq!(
            list_dir(&outside),
            ["file"],
            "{case}: nothing written outside"
        );
        assert_eq!(
            std::fs::read_to_string(outside.join("file")).unwrap(),
            "secret\n",
            "{case}"
        );
    }
}

// ---------------------------------------------------------------------------
// Download retries

/// `install x` of a manifest with one archive at `url`, with `retries`
/// given through the environment or the flag; returns the finished run.
fn install_archive(
    env: &Env,
    url: &str,
    retries: &str,
    by_flag: bool,
) -> (assert_cmd::assert::Assert, Duration) {
    let text = format!(
        "[components.theme]\nurl = \"{url}\"\nsha256 = \"{}\"\n",
        "0".repeat(64)
    );
    let manifest = env.manifest_repo(&text, None);
    let mut cmd = env.cmd();
    if by_flag {
        cmd.args(["--retries", retries]);
    } else {
        cmd.env("LAVA_RETRIES", retries);
    }
    let started = Instant::now();
    let assert = cmd
        .args(["install", "x", "--manifest-branch", &manifest.url()])
        .timeout(Duration::from_secs(120))
        .assert();
    (assert, started.elapsed())
}

#[test]
fn many_retries_do_not_delay_a_permanent_failure() {
    for (retries, by_flag) in [("100", false), ("4294967295", true)] {
        let env = Env::new();
        let server = HttpServer::start();
        let url = format!("{}/missing.tar.gz", server.base);
        let (assert, took) = install_archive(&env, &url, retries, by_flag);
        let assert = assert.code(1);
        let stderr = stderr_of(&assert);
        assert!(
            stderr.contains(&url) && stderr.contains("404"),
            "--retries {retries}: {stderr}"
        );
        assert!(
            !stderr.contains("panicked"),
            "--retries {retries}: {stderr}"
        );
        assert!(
            !stderr.contains("trying again"),
            "a 404 is not retried: {stderr}"
        );
        assert_eq!(server.requests(), 1, "--retries {retries}: asked once");
        assert!(
            took < Duration::from_secs(20),
            "--retries {retries}: {took:?}"
        );
        assert!(!env.instance_dir("x").exists());
    }
}

#[test]
fn server_errors_are_retried_with_backoff_then_given_up() {
    let env = Env::new();
    let server = HttpServer::start();
    let url = server.put("/theme.tar.gz", b"never served".to_vec());
    server.fail_next(usize::MAX);
    let (assert, took) = install_archive(&env, &url, "2", true);
    let assert = assert.code(1);
    let stderr = stderr_of(&assert);
    assert_eq!(server.requests(), 3, "one try and two retries: {stderr}");
    assert_eq!(
        stderr.matches("trying again").count(),
        2,
        "one warning per retry: {stderr}"
    );
    assert!(stderr.contains(&url) && stderr.contains("503"), "{stderr}");
    // The waits were 200-250 ms and 400-500 ms.
    assert!(
        took >= Duration::from_millis(600),
        "the retries backed off: {took:?}"
    );
    assert!(!env.instance_dir("x").exists());
}

// ---------------------------------------------------------------------------
// Git authentication and git retries

/// Runs `cmd` to the end, failing the test (after killing it) if it takes
/// longer than `limit`: the holes below are runs that never end.
fn run_bounded(mut cmd: std::process::Command, limit: Duration) -> (Option<i32>, String, Duration) {
    use std::io::Read;
    let started = Instant::now();
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after {limit:?}, killed:\n{}",
                reader.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.code(), reader.join().unwrap(), started.elapsed())
}

/// An HTTP server on 127.0.0.1 that refuses every request with 401 and a
/// Basic challenge, as a private git host does; counts the requests.
struct LoginWall {
    base: String,
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    server: std::sync::Arc<tiny_http::Server>,
}

impl LoginWall {
    fn start() -> Self {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let base = format!("http://{}", server.server_addr().to_ip().unwrap());
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        {
            let (server, requests) = (server.clone(), requests.clone());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    requests.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let challenge =
                        tiny_http::Header::from_bytes("WWW-Authenticate", "Basic realm=\"x\"")
                            .unwrap();
                    let _ = request.respond(
                        tiny_http::Response::from_string("login required")
                            .with_status_code(401)
                            .with_header(challenge),
                    );
                }
            });
        }
        LoginWall {
            base,
            requests,
            server,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for LoginWall {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// `install x` of a manifest with one git component at `url`, bounded.
fn install_git(env: &Env, url: &str, extra: &[&str]) -> (Option<i32>, String, Duration) {
    let text = format!("[components.tool]\ngit = \"{url}\"\nrev = \"v1\"\n");
    let manifest = env.manifest_repo(&text, None);
    let mut cmd = env.std_cmd();
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("SSH_AUTH_SOCK")
        .args(extra)
        .args(["install", "x", "--manifest-branch", &manifest.url()]);
    run_bounded(cmd, Duration::from_secs(60))
}

#[test]
fn refused_git_logins_give_up_saying_what_was_tried() {
    // A credential helper that always answers with the same (wrong) login:
    // libgit2 asks the callback again after each 401; it must stop.
    let env = Env::new();
    std::fs::write(
        env.path(".gitconfig"),
        "[credential]\n\thelper = \"!f() { echo username=lava; echo password=wrong; }; f\"\n",
    )
    .unwrap();
    let wall = LoginWall::start();
    let url = format!("{}/lava/tool.git", wall.base);
    let (code, stderr, took) = install_git(&env, &url, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "authentication to {url} failed; tried: git credential helper;"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("component tool"), "{stderr}");
    assert!(
        wall.requests() <= 3,
        "the login was tried once, not replayed: {} requests",
        wall.requests()
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(!env.instance_dir("x").exists());

    // No helper at all: said so, and no retries (a login is not transient).
    std::fs::remove_file(env.path(".gitconfig")).unwrap();
    let before = wall.requests();
    let (code, stderr, _) = install_git(&env, &url, &["--retries", "5"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "authentication to {url} failed; tried: git credential helper (it had no credentials)"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("trying again"), "{stderr}");
    assert_eq!(wall.requests() - before, 1, "{stderr}");
}

#[test]
fn git_fetches_retry_network_failures_only() {
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = Env::new();
    let url = format!("git://127.0.0.1:{port}/repo");
    let (code, stderr, took) = install_git(&env, &url, &["--retries", "2", "-v"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("trying again").count(),
        2,
        "tried 3 times: {stderr}"
    );
    assert!(stderr.contains(&format!("cannot fetch {url}")), "{stderr}");
    assert!(took >= Duration::from_millis(600), "backed off: {took:?}");
    assert!(!env.instance_dir("x").exists());

    // A smart-HTTP server answering 503 is retried; 404 is not.
    let server = HttpServer::start();
    server.fail_next(usize::MAX);
    let url = format!("{}/tool.git", server.base);
    let env = Env::new();
    let (code, stderr, _) = install_git(&env, &url, &["--retries", "2"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(server.requests(), 3, "{stderr}");
    assert!(stderr.contains("503"), "{stderr}");

    let server = HttpServer::start();
    let url = format!("{}/missing.git", server.base);
    let env = Env::new();
    let (code, stderr, _) = install_git(&env, &url, &["--retries", "5"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("trying again"), "{stderr}");
    assert_eq!(server.requests(), 1, "{stderr}");
    assert!(stderr.contains(&url) && stderr.contains("404"), "{stderr}");
}

// ---------------------------------------------------------------------------
// Interrupts and installer children

/// Whether `pid` is a live process (a zombie waiting to be reaped is not).
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat.rsplit(')').next().unwrap_or("").trim_start();
    !(state.starts_with('Z') || state.starts_with('X'))
}

/// Kills what a failed test would otherwise leave sleeping.
struct KillOnDrop(Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if alive(pid) {
                // SAFETY: kill(2) on a pid this test started; no memory involved.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
}

/// A "python interpreter" that never finishes: it starts a `sleep` (its
/// own child, in its group), records both pids (its own last, so both are
/// there once its file is) and waits. `stubborn` ignores SIGTERM, as does
/// the sleep it starts.
fn endless_python(dir: &Path, stubborn: bool) -> std::path::PathBuf {
    let script = dir.join("python");
    let text = format!(
        "#!/bin/sh\n{}sleep 300 &\necho $! > '{d}/sleep.pid'\necho $$ > '{d}/python.pid.tmp'\n\
         mv '{d}/python.pid.tmp' '{d}/python.pid'\nwait\n",
        if stubborn { "trap '' TERM\n" } else { "" },
        d = dir.display()
    );
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn sigterm_stops_the_installer_children_before_removing_the_release() {
    for stubborn in [false, true] {
        let env = Env::new();
        let python = endless_python(env.tmp.path(), stubborn);
        let text = format!(
            "[python]\ninterpreter = \"{}\"\n[components.lonely]\npython = \"1.0\"\n",
            python.display()
        );
        let manifest = env.manifest_repo(&text, None);
        let mut child = env
            .std_cmd()
            .env("LAVA_PYTHON_INSTALLER", "pip")
            .args(["install", "x", "--manifest-branch", &manifest.url()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });

        // The installer (`python -m venv`) is running inside the staged release.
        let pid_file = env.path("python.pid");
        let started = Instant::now();
        while !pid_file.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "ended ({status}) before the installer ran:\n{}",
                    reader.join().unwrap()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the installer never started"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let (python_pid, sleep_pid) = (read_pid(&pid_file), read_pid(&env.path("sleep.pid")));
        let _cleanup = KillOnDrop(vec![python_pid, sleep_pid]);
        assert!(alive(python_pid) && alive(sleep_pid));
        // Releases are built in place; one without lava.lock is unfinished.
        let code = env.instance_dir("x").join("code");
        assert!(
            env.code_entries("x")
                .iter()
                .any(|e| e.starts_with("0001-") && !code.join(e).join("lava.lock").exists()),
            "a release is being built: {:?}",
            env.code_entries("x")
        );

        // SAFETY: kill(2) on the lava-deploy this test started.
        assert_eq!(
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
            0
        );
        let signalled = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if signalled.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("lava-deploy did not exit after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = signalled.elapsed();
        let stderr = reader.join().unwrap();
        assert_eq!(status.code(), Some(143), "stubborn={stubborn}: {stderr}");
        assert!(
            !alive(python_pid),
            "stubborn={stubborn}: the installer was stopped"
        );
        assert!(
            !alive(sleep_pid),
            "stubborn={stubborn}: and what it started (its process group)"
        );
        if stubborn {
            assert!(
                took >= Duration::from_millis(1900),
                "SIGKILL only after the grace period: {took:?}"
            );
        }
        assert!(
            took < Duration::from_secs(10),
            "stubborn={stubborn}: {took:?}"
        );
        let entries = env.code_entries("x");
        assert!(
            entries
                .iter()
                .all(|e| !e.starts_with(".tmp") && !e.starts_with("0001-") && e != "current"),
            "stubborn={stubborn}: nothing half-built is left: {entries:?}"
        );
    }
}
