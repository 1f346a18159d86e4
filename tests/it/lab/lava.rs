//! The lab playbook builds a LAVA lab that runs a job, over netns hosts:
//! one server (the built-in `lava-server.toml`, its own PostgreSQL), one
//! worker (`lava-worker.toml`) and a device host whose sshd is the `ssh`
//! device of the branch's `devices/`, each host a network namespace with
//! its own sshd and lava-deploy root, all on one bridge. LAVA 2026.07 comes
//! from the fixture, committed into a git repository (`support::lava`) the
//! hosts read through the shared filesystem (as the service of the other lab
//! test does); its Python dependencies come from the package index through
//! a CONNECT proxy this test runs on the bridge (the namespaces have no
//! other way out), into one cache both hosts share, kept between runs. Opt-in (`--ignored`), as every test
//! that needs the index; `.ci/run` runs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::{missing_for_hosts, run_ok, Host, Lab, INSTANCE};
use crate::support::lava;

const HOSTS: [(&str, &str); 3] = [
    ("server1", "servers"),
    ("worker1", "workers"),
    ("dut1", "devices"),
];

fn missing() -> Option<String> {
    lava::missing()
        .or_else(lava::missing_postgresql)
        .or_else(missing_for_hosts)
}

/// A CONNECT proxy on `addr` (the bridge): the hosts' only way to the
/// package index. Runs until the test process ends.
fn start_proxy(addr: Ipv4Addr) -> u16 {
    let listener = TcpListener::bind((addr, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            std::thread::spawn(move || tunnel(client));
        }
    });
    port
}

fn tunnel(client: TcpStream) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let mut client = client;
    let target = match request.split_whitespace().collect::<Vec<_>>()[..] {
        ["CONNECT", target, _] => target.to_owned(),
        _ => {
            let _ = client.write_all(b"HTTP/1.1 405 CONNECT only\r\n\r\n");
            return;
        }
    };
    let Ok(upstream) = TcpStream::connect(&target) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let mut up_write = upstream.try_clone().unwrap();
    let mut down_write = client;
    let mut up_read = upstream;
    // What the reader buffered beyond the head goes first.
    let buffered = reader.buffer().to_vec();
    let mut from_client = reader.into_inner();
    let upward = std::thread::spawn(move || {
        let _ = up_write.write_all(&buffered);
        let _ = std::io::copy(&mut from_client, &mut up_write);
        let _ = up_write.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_read, &mut down_write);
    let _ = down_write.shutdown(std::net::Shutdown::Write);
    let _ = upward.join();
}

/// The real uv (the one on this PATH may be a shim of a Python version
/// manager), for the hosts' PATH; None: lava-deploy uses pip.
fn uv_dir(tmp: &Path) -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import uv; print(uv.find_uv_bin())"])
        .output()
        .ok()?;
    let uv = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !out.status.success() || !uv.is_file() {
        return None;
    }
    let dir = tmp.join("uv-bin");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&uv, dir.join("uv")).unwrap();
    Some(dir)
}

/// The example device, pointed at the device host's sshd: the worker logs
/// in with the controller's key (which every host's sshd lets in), and the
/// test shell runs under `results`.
fn device(dut: &Host, key: &Path, results: &Path) -> String {
    let mut text = lava::example("devices/ssh01.jinja2");
    for (from, to) in [
        ("'127.0.0.1'", format!("'{}'", dut.addr)),
        ("'/root/.ssh/id_ed25519'", format!("'{}'", key.display())),
        ("'/lava-%s'", format!("'{}/lava-%s'", results.display())),
    ] {
        assert!(text.contains(from), "{from} is not in the example device");
        text = text.replace(from, &to);
    }
    assert!(text.contains("'worker': 'worker1'"), "{text}");
    text
}

/// Every file under `dir` but those `skip` says, holding `needle`.
pub(super) fn files_holding(
    dir: &Path,
    needle: &str,
    skip: &dyn Fn(&Path) -> bool,
) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if skip(&path) {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let mut bytes = Vec::new();
                if std::fs::File::open(&path)
                    .and_then(|mut f| f.read_to_end(&mut bytes))
                    .is_ok()
                    && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
                {
                    found.push(path);
                }
            }
        }
    }
    found
}

#[test]
#[ignore = "needs the package index, ../shared/fixtures, postgresql, sshd and network namespaces; run with --ignored lab::lava"]
fn the_lab_playbook_makes_a_lab_that_runs_a_job_across_hosts() {
    if !crate::support::require(missing()) {
        return;
    }
    let started = Instant::now();
    let lab = Lab::new(&HOSTS);
    let tmp = lab.tmp().to_owned();
    eprintln!("hosts up in {:.1?}", started.elapsed());
    // The server's PostgreSQL runs as user postgres, who must reach its
    // cluster in the server's root.
    lava::open_to_postgres(&lab.env);
    let server = lab.host("server1");
    let worker = lab.host("worker1");
    let dut = lab.host("dut1");

    // One installer and git cache for both hosts, kept between runs (the
    // cache is safe to share), so LAVA's dependencies come through the
    // proxy once.
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-lava-cache");
    for host in [server, worker] {
        std::fs::create_dir_all(&host.root).unwrap();
        std::fs::create_dir_all(&cache).unwrap();
        std::os::unix::fs::symlink(&cache, host.root.join("cache")).unwrap();
    }
    let proxy = start_proxy(lab.gateway);
    let mut path = String::from("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    if let Some(uv) = uv_dir(&tmp) {
        path = format!("{}:{path}", uv.display());
    }
    let environment = serde_json::json!({
        "HTTPS_PROXY": format!("http://{}:{proxy}", lab.gateway),
        "NO_PROXY": format!("127.0.0.1,localhost,{}", lab.gateway),
        "PATH": path,
    });

    // The lab's branch: the built-in manifests with LAVA from the fixture,
    // the lab's own files extending them with the server's address, and the
    // device host as an ssh device of worker1.
    let results = tmp.join("hosts/dut1/results");
    std::fs::create_dir_all(&results).unwrap();
    // The ssh deploy unpacks its overlay with `tar -C dirname(results dir)`
    // from an archive holding the full path: make it lead back to `/`.
    let top = tmp.components().nth(1).unwrap();
    std::os::unix::fs::symlink(Path::new("/").join(top), results.join(top.as_os_str())).unwrap();
    let branch = &lab.manifest;
    branch.write("lava-server.toml", &lava::builtin("lava-server.toml"));
    branch.write("lava-worker.toml", &lava::builtin("lava-worker.toml"));
    branch.write(
        "lab-server.toml",
        &format!(
            "[manifest]\nextends = \"lava-server.toml\"\n\n[environment]\n\
             LAVA_SERVER_BIND = \"{a}:8000\"\nLAVA_PUBLISHER_HOST = \"{a}\"\n\
             ALLOWED_HOSTS = \"{a},127.0.0.1,localhost\"\n",
            a = server.addr
        ),
    );
    branch.write(
        "lab-worker.toml",
        &format!(
            "[manifest]\nextends = \"lava-worker.toml\"\n\n[environment]\n\
             LAVA_WORKER_WS_URL = \"http://{}:8001/ws/\"\n",
            server.addr
        ),
    );
    branch.write(
        "devices/ssh01.jinja2",
        &device(dut, &tmp.join("id_ed25519"), &results),
    );
    branch.commit("lab");
    branch.tag("lab-1");

    // (Host lines, where INI values are read as Python literals; a
    // [group:vars] value would stay a string.)
    lab.write_inventory_with(
        &|host: &Host| {
            let cfg = match host.group {
                "servers" => "lab-server.toml",
                _ => "lab-worker.toml",
            };
            format!(" lava_cfg={cfg} lava_environment='{environment}'")
        },
        "",
    );
    let server_url = format!("http://{}:8000/", server.addr);
    let url_var = format!("lava_server_url={server_url}");
    let flags = ["-e", url_var.as_str(), "-v", "--diff"];

    let first = lab.playbook(&flags);
    let first_seconds = started.elapsed();
    assert_eq!(first.code, Some(0), "{}", first.shown());
    assert!(
        first.stdout.contains("Register worker worker1 on server1"),
        "{}",
        first.shown()
    );

    // The worker's token, read on the server the way an admin would.
    let exec = |args: &[&str]| {
        let mut all = vec![
            "--root",
            server.root.to_str().unwrap(),
            "exec",
            INSTANCE,
            "--",
        ];
        all.extend(args);
        run_ok(server.root.join("bin/lava-deploy").to_str().unwrap(), &all)
    };
    let details = exec(&["lava-server", "manage", "workers", "details", "worker1"]);
    let token = details
        .lines()
        .find_map(|l| l.strip_prefix("token      : "))
        .unwrap_or_else(|| panic!("no token in: {details}"))
        .trim()
        .to_owned();
    assert!(token.len() >= 16, "{details}");

    exec(&[
        "lava-server",
        "manage",
        "users",
        "add",
        "--superuser",
        "--staff",
        "--passwd",
        "admin-pass",
        "admin",
    ]);
    let admin_token = exec(&["lava-server", "manage", "tokens", "add", "--user", "admin"]);
    let api = lava::Api::new(&server_url, admin_token.trim());
    let listed = api.get("/api/v0.2/workers/worker1/");
    assert_eq!(listed["state"], "Online", "{listed}");
    assert_eq!(listed["version"], "2026.07", "{listed}");
    let ssh01 = api.get("/api/v0.2/devices/ssh01/");
    assert_eq!(ssh01["worker_host"], "worker1", "{ssh01}");

    // A job for the branch's device runs on the worker, over the network of
    // the hosts, to Complete.
    let submitted = Instant::now();
    let id = api.submit(&lava::example("jobs/ssh-smoke.yaml"));
    let job = api.finished(id);
    let job_seconds = submitted.elapsed();
    if job["health"] != "Complete" {
        let log = api
            .text(&format!("/api/v0.2/jobs/{id}/logs/"))
            .unwrap_or_else(|e| e);
        let worker_log =
            std::fs::read_to_string(worker.instance().join("shared/var/log/lava-worker.log"))
                .unwrap_or_default();
        let tail = |text: &str, n: usize| {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        };
        panic!(
            "job {id} is {}: {}\njob log:\n{}\nlava-worker.log:\n{}",
            job["health"],
            job["failure_comment"],
            tail(&log, 40),
            tail(&worker_log, 20)
        );
    }
    assert_eq!(job["actual_device"], "ssh01", "{job}");

    // Again: nothing changes anywhere, the worker is only looked up.
    let second = lab.playbook(&flags);
    assert_eq!(second.code, Some(0), "{}", second.shown());
    for host in ["localhost", "server1", "worker1"] {
        assert_eq!(
            second.recap_of(host, "changed"),
            0,
            "{host}: {}",
            second.shown()
        );
    }
    assert_eq!(
        api.get("/api/v0.2/workers/worker1/")["state"],
        "Online",
        "the worker still runs after the second run"
    );
    // And --check --diff agrees: nothing would change (the token compared
    // with `secret set --check`, not shown).
    let check_flags = ["-e", url_var.as_str(), "-v", "--check", "--diff"];
    let check = lab.playbook(&check_flags);
    assert_eq!(check.code, Some(0), "{}", check.shown());
    for host in ["server1", "worker1"] {
        assert_eq!(
            check.recap_of(host, "changed"),
            0,
            "{host}: {}",
            check.shown()
        );
    }

    // The token: in no output, and in no file of the controller's side
    // (Ansible's temp and control dirs, the inventory, …) nor of the
    // hosts' but the worker's secrets file and the server's database.
    for run in [&first, &second, &check] {
        assert!(
            !run.shown().contains(&token),
            "the token in the playbook's output:\n{}",
            run.shown()
        );
    }
    let secrets_file = worker.instance().join("secrets");
    let database = server.instance().join("shared/var/lib/postgresql");
    let holding = files_holding(&tmp, &token, &|p: &Path| p == secrets_file || p == database);
    assert_eq!(
        holding,
        Vec::<PathBuf>::new(),
        "files holding the worker's token"
    );
    assert!(std::fs::read_to_string(&secrets_file)
        .unwrap()
        .contains(&token));
    eprintln!(
        "lab playbook to a Complete job: first run {first_seconds:.1?}, job {job_seconds:.1?}, \
         in all {:.1?}",
        started.elapsed()
    );
}
