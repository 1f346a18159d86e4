//! A lab that runs a job on one host, the README's main job, with real
//! things only: LAVA 2026.07 from the fixture deployed by the built-in
//! `lava-server.toml` (its own PostgreSQL) and `lava-worker.toml`, a worker
//! registered with `exec` + `secret set`, an `ssh` device of the branch's
//! `devices/` that is an sshd this test starts on 127.0.0.1, the example job
//! of `examples/` submitted over the REST API. Then the lab as code (a device
//! added and one removed by upgrades), bad input (a broken dictionary, a
//! dead database, a wrong token, an unreachable server) and `remove`.
//! Opt-in (`--ignored`): it needs the package index; `.ci/run` runs it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::support::{self, free_port, lava, stderr_of, Env, GitRepo};

const WORKER: &str = "w1";

struct Ports {
    http: u16,
    publisher: u16,
    events: u16,
    sshd: u16,
    /// Nothing listens there: the server of a worker that cannot reach one.
    closed: u16,
}

/// Stops what a lab test started, also when an assertion fails halfway.
struct Cleanup<'a> {
    env: &'a Env,
    instances: &'static [&'static str],
    sshd_pid: PathBuf,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for name in self.instances {
            if self.env.instance_dir(name).join("code/current").exists() {
                let _ = lava::cmd(self.env).args(["stop", name]).output();
            }
        }
        if let Ok(pid) = std::fs::read_to_string(&self.sshd_pid) {
            let _ = std::process::Command::new("kill").arg(pid.trim()).status();
        }
    }
}

/// An sshd on 127.0.0.1 that lets root in with `dut/id_lava`: the device.
/// Returns the key and the directory the test shell runs in.
fn start_dut(env: &Env, port: u16) -> (PathBuf, PathBuf) {
    let dut = env.path("dut");
    std::fs::create_dir_all(dut.join("results")).unwrap();
    for key in ["host_ed25519", "id_lava"] {
        support::run_ok(
            Path::new("ssh-keygen"),
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                dut.join(key).to_str().unwrap(),
            ],
        );
    }
    std::fs::copy(dut.join("id_lava.pub"), dut.join("authorized_keys")).unwrap();
    let d = dut.display();
    std::fs::write(
        dut.join("sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             Subsystem sftp /usr/lib/openssh/sftp-server\n"
        ),
    )
    .unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    support::run_ok(
        Path::new("/usr/sbin/sshd"),
        &[
            "-f",
            dut.join("sshd_config").to_str().unwrap(),
            "-E",
            dut.join("sshd.log").to_str().unwrap(),
        ],
    );
    // The ssh deploy unpacks its overlay with `tar -C dirname(results dir)`
    // from an archive holding the full path: make it lead back to `/`.
    let results = dut.join("results");
    let top = env.tmp.path().components().nth(1).unwrap();
    std::os::unix::fs::symlink(Path::new("/").join(top), results.join(top.as_os_str())).unwrap();
    (dut.join("id_lava"), results)
}

/// The example device dictionary, pointed at this test's sshd and worker.
fn device(port: u16, key: &Path, results: &Path) -> String {
    let mut text = lava::example("devices/ssh01.jinja2");
    for (from, to) in [
        ("'worker': 'worker1'", format!("'worker': '{WORKER}'")),
        ("ssh_port = 22 ", format!("ssh_port = {port} ")),
        ("'/root/.ssh/id_ed25519'", format!("'{}'", key.display())),
        ("'/lava-%s'", format!("'{}/lava-%s'", results.display())),
    ] {
        assert!(text.contains(from), "{from} is not in the example device");
        text = text.replace(from, &to);
    }
    text
}

/// The `/static/` paths a page links (`href="…"`, `src="…"`).
fn static_links(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attribute in ["href=\"", "src=\""] {
        for (at, _) in html.match_indices(attribute) {
            let rest = &html[at + attribute.len()..];
            let link = &rest[..rest.find('"').unwrap_or(0)];
            // LAVA's manual (/static/docs/) is built by Debian's
            // packaging, not by an install from source: pages, not assets.
            if link.starts_with("/static/")
                && !link.starts_with("/static/docs/")
                && !links.iter().any(|l| l == link)
            {
                links.push(link.to_owned());
            }
        }
    }
    links
}

fn pid_in(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// The manifest branch of the lab: the built-in manifests (LAVA from the
/// fixture) and the lab's own files extending them with this test's ports.
fn lab_branch(env: &Env, ports: &Ports) -> GitRepo {
    let branch = env.git_repo("lab-branch");
    branch.write("lava-server.toml", &lava::builtin("lava-server.toml"));
    branch.write("lava-worker.toml", &lava::builtin("lava-worker.toml"));
    branch.write(
        "lab.toml",
        &format!(
            "[manifest]\nextends = \"lava-server.toml\"\n\n[environment]\n\
             LAVA_SERVER_BIND = \"127.0.0.1:{}\"\nLAVA_PUBLISHER_PORT = \"{}\"\n\
             LAVA_EVENT_PORT = \"{}\"\n",
            ports.http, ports.publisher, ports.events
        ),
    );
    branch.write(
        "lab-worker.toml",
        &format!(
            "[manifest]\nextends = \"lava-worker.toml\"\n\n[environment]\n\
             LAVA_SERVER_URL = \"http://127.0.0.1:{}/\"\n\
             LAVA_WORKER_WS_URL = \"http://127.0.0.1:{}/ws/\"\nLAVA_WORKER_NAME = \"{WORKER}\"\n",
            ports.http, ports.publisher
        ),
    );
    // Workers that must fail their check (they fail it sooner): one with a
    // token the server does not know, one whose server is not there.
    let bad = "[hooks]\ncheck-timeout = \"8s\"\n";
    branch.write(
        "w-token.toml",
        &format!(
            "[manifest]\nextends = \"lab-worker.toml\"\n\n[environment]\n\
             LAVA_WORKER_NAME = \"w-token\"\n\n{bad}"
        ),
    );
    branch.write(
        "w-unreachable.toml",
        &format!(
            "[manifest]\nextends = \"lab-worker.toml\"\n\n[environment]\n\
             LAVA_WORKER_NAME = \"w-unreachable\"\n\
             LAVA_SERVER_URL = \"http://127.0.0.1:{}/\"\n\n{bad}",
            ports.closed
        ),
    );
    branch.commit("lab without devices");
    branch
}

#[test]
#[ignore = "needs the package index, ../shared/fixtures, postgresql and openssh-server; run with --ignored lava_lab"]
fn lava_lab_on_one_host_runs_a_job_on_a_device_of_the_branch() {
    let missing = lava::missing()
        .or_else(lava::missing_postgresql)
        .or_else(|| {
            (!Path::new("/usr/sbin/sshd").is_file())
                .then(|| "sshd is not installed (apt-get install openssh-server)".to_owned())
        })
        .or_else(support::browser::missing);
    if !support::require(missing) {
        return;
    }
    let started = Instant::now();
    let env = Env::new();
    lava::open_to_postgres(&env);
    let ports = Ports {
        http: free_port(),
        publisher: free_port(),
        events: free_port(),
        sshd: free_port(),
        closed: free_port(),
    };
    let _cleanup = Cleanup {
        env: &env,
        instances: &["worker", "w-token", "w-unreachable", "lab"],
        sshd_pid: env.path("dut/sshd.pid"),
    };
    let (key, results) = start_dut(&env, ports.sshd);
    let branch = lab_branch(&env, &ports);
    let run = |args: &[&str]| lava::cmd(&env).args(args).assert();

    // The server, from a branch with no devices/ yet.
    run(&[
        "install",
        "lab",
        "--manifest-branch",
        &branch.url(),
        "--cfg",
        "lab.toml",
    ])
    .success();
    let server_installed = started.elapsed();
    let shared = env.instance_dir("lab").join("shared");
    assert!(shared.join("var/lib/postgresql/PG_VERSION").is_file());
    assert!(shared.join("run/postgresql/.s.PGSQL.5432").exists());
    assert!(
        shared.join("run/gunicorn.ctl").exists(),
        "gunicorn's control socket is in shared/"
    );

    // Register the worker: its token goes from the server to the worker's
    // secrets, never through a file.
    let added = run(&[
        "exec",
        "lab",
        "--",
        "lava-server",
        "manage",
        "workers",
        "add",
        WORKER,
    ])
    .success();
    let out = support::stdout_of(&added);
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("Token: "))
        .unwrap_or_else(|| panic!("no token in: {out}"))
        .trim()
        .to_owned();
    lava::cmd(&env)
        .args(["secret", "set", "worker", "LAVA_WORKER_TOKEN"])
        .write_stdin(format!("{token}\n"))
        .assert()
        .success();
    run(&[
        "install",
        "worker",
        "--manifest-branch",
        &branch.url(),
        "--cfg",
        "lab-worker.toml",
    ])
    .success();
    let worker_installed = started.elapsed();
    let worker_pid = pid_in(
        &env.instance_dir("worker")
            .join("shared/run/lava-worker.pid"),
    );
    let cmdline = std::fs::read(format!("/proc/{worker_pid}/cmdline")).unwrap();
    assert!(
        !String::from_utf8_lossy(&cmdline).contains(&token),
        "the token is on lava-worker's command line"
    );

    // An admin and an API token, through exec.
    run(&[
        "exec",
        "lab",
        "--",
        "lava-server",
        "manage",
        "users",
        "add",
        "--superuser",
        "--staff",
        "--passwd",
        "admin-pass",
        "admin",
    ])
    .success();
    let admin_token = support::stdout_of(
        &run(&[
            "exec",
            "lab",
            "--",
            "lava-server",
            "manage",
            "tokens",
            "add",
            "--user",
            "admin",
        ])
        .success(),
    );
    let api = lava::Api::new(
        &format!("http://127.0.0.1:{}", ports.http),
        admin_token.trim(),
    );
    let listed = api.get(&format!("/api/v0.2/workers/{WORKER}/"));
    assert_eq!(listed["state"], "Online", "{listed}");
    assert_eq!(listed["version"], "2026.07", "{listed}");

    // The lab as code: the example device, in devices/ of the branch.
    branch.write("devices/ssh01.jinja2", &device(ports.sshd, &key, &results));
    branch.commit("ssh01");
    run(&["upgrade", "lab"]).success();
    let ssh01 = api.get("/api/v0.2/devices/ssh01/");
    assert_eq!(
        ssh01["health"], "Unknown",
        "a new device is in service: {ssh01}"
    );
    assert_eq!(ssh01["worker_host"], WORKER, "{ssh01}");

    // The example job runs to Complete, with the case that must fail failed.
    let submitted = Instant::now();
    let id = api.submit(&lava::example("jobs/ssh-smoke.yaml"));
    let job = api.finished(id);
    let job_seconds = submitted.elapsed();
    assert_eq!(job["health"], "Complete", "{job}");
    assert_eq!(job["actual_device"], "ssh01", "{job}");
    assert_eq!(
        api.results(id, "smoke"),
        [
            ("echo".to_owned(), "pass".to_owned()),
            ("uname".to_owned(), "pass".to_owned()),
            ("must-fail".to_owned(), "fail".to_owned()),
        ]
    );

    // The UI is styled: every stylesheet, script and image the home page
    // and the job's page link answers (issue 19: all of them were 404).
    for page in ["/".to_owned(), format!("/scheduler/job/{id}")] {
        let html = api.text(&page).unwrap();
        // LAVA still runs a job its schema refuses, but says so on its page.
        assert!(
            !html.contains("Invalid job definition"),
            "{page} says the example job is invalid"
        );
        let assets = static_links(&html);
        assert!(
            assets.iter().any(|a| a.ends_with(".css")),
            "{page} links no stylesheet: {assets:?}"
        );
        for asset in assets {
            let status = api.status(&asset);
            assert_eq!(status, 200, "{asset} (linked from {page})");
        }
    }
    // And in a browser: what Chromium actually loads answers 200, every
    // stylesheet has rules and bootstrap's style applies (screenshots in
    // target/test-artifacts/).
    for page in ["/".to_owned(), format!("/scheduler/job/{id}")] {
        let report = support::browser::inspect(&format!("{}{page}", api.base()));
        report.assert_styled();
        let navbar = report.navbar_background.as_deref();
        assert!(
            navbar.is_some_and(|c| c != "rgba(0, 0, 0, 0)"),
            "{page}: the navbar has no background: {report:#?}"
        );
    }

    // A device added appears and takes the next job; one removed is retired.
    branch.write("devices/ssh02.jinja2", &device(ports.sshd, &key, &results));
    branch.git(&["rm", "-q", "devices/ssh01.jinja2"]);
    branch.commit("ssh02 instead of ssh01");
    run(&["upgrade", "lab"]).success();
    // (The REST API hides retired devices: LAVA's own command says.)
    let health = |device: &str| {
        let details = support::stdout_of(
            &run(&[
                "exec",
                "lab",
                "--",
                "lava-server",
                "manage",
                "devices",
                "details",
                device,
            ])
            .success(),
        );
        details
            .lines()
            .find_map(|l| l.strip_prefix("health     : "))
            .unwrap_or_else(|| panic!("no health in: {details}"))
            .trim()
            .to_owned()
    };
    assert_eq!(health("ssh01"), "Retired");
    assert_eq!(health("ssh02"), "Unknown");
    let id = api.submit(&lava::example("jobs/ssh-smoke.yaml"));
    let job = api.finished(id);
    assert_eq!(job["health"], "Complete", "{job}");
    assert_eq!(job["actual_device"], "ssh02", "{job}");
    let serving = env.current("lab");

    // A dictionary that does not render: the upgrade stops before the
    // switch, naming the file; nothing is synced.
    branch.write(
        "devices/broken.jinja2",
        "{% extends 'ssh.jinja2' %}\n{% set sync_to_lava = {'device_type': 'ssh'} %}\n{% set ssh_port = %}\n",
    );
    branch.commit("a broken dictionary");
    let failed = run(&["upgrade", "lab"]).code(1);
    let stderr = stderr_of(&failed);
    assert!(
        stderr.contains("devices/broken.jinja2: invalid jinja2 template"),
        "{stderr}"
    );
    assert_eq!(env.current("lab"), serving);
    assert_eq!(health("ssh02"), "Unknown");
    run(&[
        "exec",
        "lab",
        "--",
        "lava-server",
        "manage",
        "devices",
        "details",
        "broken",
    ])
    .failure();
    branch.git(&["rm", "-q", "devices/broken.jinja2"]);
    branch.commit("no broken dictionary");

    // stop and start (a reboot, say): everything down, then up again.
    let postmaster = pid_in(&shared.join("var/lib/postgresql/postmaster.pid"));
    run(&["stop", "lab"]).success();
    assert!(!listening(ports.http) && !listening(ports.publisher) && !listening(ports.events));
    assert!(!lava::running(&postmaster), "PostgreSQL runs after stop");
    run(&["start", "lab"]).success();
    assert_eq!(api.get("/api/v0.2/system/version/")["version"], "2026.07");

    // A database that does not answer (a secret wins over the manifest):
    // named, its password not shown, the serving release untouched.
    let dead = free_port();
    lava::cmd(&env)
        .args(["secret", "set", "lab", "DATABASE_URL"])
        .write_stdin(format!("postgres://lava:hunter2@127.0.0.1:{dead}/lava\n"))
        .assert()
        .success();
    let failed = run(&["upgrade", "lab"]).code(1);
    let stderr = stderr_of(&failed);
    assert!(
        stderr.contains(&format!(
            "DATABASE_URL=postgres://lava:***@127.0.0.1:{dead}/lava"
        )) && stderr.contains("does not answer"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert_eq!(env.current("lab"), serving);
    run(&["secret", "rm", "lab", "DATABASE_URL"]).success();
    assert_eq!(api.get("/api/v0.2/system/version/")["version"], "2026.07");

    // A wrong token, and a server that is not there: the check fails with
    // what the server answered, and the failed first release leaves no
    // worker running.
    run(&[
        "exec",
        "lab",
        "--",
        "lava-server",
        "manage",
        "workers",
        "add",
        "w-token",
    ])
    .success();
    for (instance, token, expected) in [
        (
            "w-token",
            "0123456789abcdef0123456789abcdef",
            format!(
                "the LAVA server at http://127.0.0.1:{}/ refused the token of worker w-token: \
                 400 \"Invalid 'token'\"",
                ports.http
            ),
        ),
        (
            "w-unreachable",
            token.as_str(),
            format!(
                "cannot reach the LAVA server at http://127.0.0.1:{}/ (LAVA_SERVER_URL)",
                ports.closed
            ),
        ),
    ] {
        lava::cmd(&env)
            .args(["secret", "set", instance, "LAVA_WORKER_TOKEN"])
            .write_stdin(format!("{token}\n"))
            .assert()
            .success();
        let failed = run(&[
            "install",
            instance,
            "--manifest-branch",
            &branch.url(),
            "--cfg",
            &format!("{instance}.toml"),
        ])
        .code(1);
        let stderr = stderr_of(&failed);
        assert!(stderr.contains(&expected), "{expected:?} not in: {stderr}");
        assert!(!stderr.contains(token), "{stderr}");
        let pid_file = env
            .instance_dir(instance)
            .join("shared/run/lava-worker.pid");
        assert!(!pid_file.exists(), "{instance}: a worker is left running");
    }
    assert_eq!(
        api.get(&format!("/api/v0.2/workers/{WORKER}/"))["state"],
        "Online"
    );

    // remove: no process of the lab left, no port open.
    let shared_worker = env.instance_dir("worker").join("shared");
    let mut pids = vec![pid_in(&shared_worker.join("run/lava-worker.pid"))];
    for daemon in ["gunicorn", "lava-publisher", "lava-scheduler"] {
        pids.push(pid_in(&shared.join(format!("run/{daemon}.pid"))));
    }
    pids.push(pid_in(&shared.join("var/lib/postgresql/postmaster.pid")));
    for name in ["worker", "w-token", "w-unreachable", "lab"] {
        if env.instance_dir(name).exists() {
            let removing = Instant::now();
            run(&["remove", name, "--yes"]).success();
            eprintln!("lava_lab: remove {name} took {:.1?}", removing.elapsed());
        }
    }
    for pid in &pids {
        assert!(!lava::running(pid), "process {pid} outlived remove");
    }
    for port in [ports.http, ports.publisher, ports.events] {
        assert!(!listening(port), "port {port} is still open after remove");
    }
    eprintln!(
        "lava_lab: server installed in {server_installed:.1?}, worker Online at \
         {worker_installed:.1?}, first job submitted to Finished in {job_seconds:.1?}, \
         whole test {:.1?}",
        started.elapsed()
    );
}
