//! A lab of many hosts: the `lava.deploy` Ansible collection (`ansible/`)
//! run by real `ansible-playbook` over real ssh against hosts made of
//! network namespaces — one server and three workers, each with its own
//! sshd, address and lava-deploy root — deploying a small real service.
//! Beside it, the module alone on this machine (`ansible localhost`), and
//! the hooks of `manifests/lava-worker.toml` with a stand-in `lava-worker`.
//!
//! Needs `ansible-core`, Debian's `openssh-server` and `iproute2`
//! (`tools/test` installs them) and, for the lab, `CAP_NET_ADMIN` to make
//! namespaces. Where a tool is missing or the machine cannot make
//! namespaces the tests skip through `support::require` (locally; under
//! `CI=true` they fail).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, read_toml, Env, GitRepo};

mod lava;
mod registration;

const SERVER: &str = r#"import http.server, pathlib, sys
version = (pathlib.Path(__file__).parent / "VERSION").read_text().strip()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(version.encode())
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
"#;

/// Every namespace has its own loopback and addresses, so all hosts serve
/// on the same port without clashing.
const PORT: u16 = 8080;

/// The inventory: name and group, in the order the roll must take them.
const HOSTS: [(&str, &str); 4] = [
    ("server1", "servers"),
    ("worker1", "workers"),
    ("worker2", "workers"),
    ("worker3", "workers"),
];

const INSTANCE: &str = "lab";

/// Why the lab cannot run here, if it cannot.
fn missing_tools(needs_namespaces: bool) -> Option<String> {
    let mut tools = vec!["ansible-playbook", "ansible-galaxy", "ansible", "git"];
    if needs_namespaces {
        tools.extend(["ip", "ssh", "ssh-keygen"]);
    }
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("{tool} is not installed (tools/test installs it)"));
        }
    }
    if needs_namespaces && !Path::new("/usr/sbin/sshd").exists() {
        return Some("/usr/sbin/sshd is not installed (Debian's openssh-server)".into());
    }
    None
}

/// Why the lab's hosts cannot be made here (tools, or no network
/// namespaces), if they cannot.
fn missing_for_hosts() -> Option<String> {
    missing_tools(true).or_else(|| {
        let probe = format!("lvlab{:x}-probe", std::process::id());
        match try_namespace(&probe) {
            Ok(()) => {
                run_ok("ip", &["netns", "del", &probe]);
                None
            }
            Err(why) => Some(format!("the lab needs network namespaces: {why}")),
        }
    })
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn run_ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stops every process working in `dir` (a test's temp dir): the services
/// its hooks started. lava-deploy cannot stop them itself where no hook
/// says how: after a first install whose check failed, or `remove`.
fn stop_processes_under(dir: &Path) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        // A removed release's directory reads as "PATH (deleted)".
        if cwd.starts_with(dir) {
            let _ = Command::new("kill").arg(&pid).status();
        }
    }
}

/// Calls `stop_processes_under` when the test ends, passed or not.
struct StopUnder(PathBuf);

impl Drop for StopUnder {
    fn drop(&mut self) {
        stop_processes_under(&self.0);
    }
}

/// The collection as a user installs it, into `dir`.
fn install_collection(dir: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("ansible");
    run_ok(
        "ansible-galaxy",
        &[
            "collection",
            "install",
            "--force",
            "-p",
            dir.to_str().unwrap(),
            source.to_str().unwrap(),
        ],
    );
}

/// Environment for every Ansible command: our collection only, temp and
/// control files in the test's dir, no colour, no local ansible.cfg.
fn ansible_command(program: &str, tmp: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(tmp)
        .env("ANSIBLE_CONFIG", tmp.join("no-ansible.cfg"))
        .env("ANSIBLE_COLLECTIONS_PATH", tmp.join("collections"))
        .env("ANSIBLE_HOME", tmp.join("ansible-home"))
        .env("ANSIBLE_LOCAL_TEMP", tmp.join("ansible-local"))
        .env("ANSIBLE_REMOTE_TMP", tmp.join("ansible-remote"))
        .env("ANSIBLE_SSH_CONTROL_PATH_DIR", tmp.join("cp"))
        .env("ANSIBLE_PIPELINING", "1")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_STDOUT_CALLBACK", "default")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        // Ansible refuses to run without a UTF-8 locale; C.UTF-8 is always there.
        .env("LC_ALL", "C.UTF-8")
        .env_remove("LAVA_ROOT")
        .env_remove("LAVA_MANIFEST_BRANCH")
        .env_remove("LAVA_BUILDOUT_CFG");
    cmd
}

/// The binary the playbook copies to the hosts: stripped, so the first
/// run sends ~15 MB per host instead of ~160.
fn stripped_binary(tmp: &Path) -> PathBuf {
    let built = assert_cmd::cargo::cargo_bin("lava-deploy");
    let dest = tmp.join("lava-deploy");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&dest)
        .arg(&built)
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(&built, &dest).unwrap();
    }
    dest
}

/// The service repository: `serve.py` answering its VERSION, tagged v1, v2.
fn service_repo(env: &Env) -> GitRepo {
    let svc = env.git_repo("svc");
    for tag in ["v1", "v2"] {
        svc.write("serve.py", SERVER);
        svc.write("VERSION", &format!("{tag}\n"));
        svc.commit(tag);
        svc.tag(tag);
    }
    svc
}

/// A manifest with `svc` at `rev`: post-switch notes the host and release
/// in `events` and (re)starts the service; the checks are `check-url` plus
/// `extra_hooks`.
fn service_manifest(
    svc: &GitRepo,
    rev: &str,
    port: u16,
    events: &Path,
    extra_hooks: &str,
) -> String {
    format!(
        r#"[components.svc]
git = "{svc}"
rev = "{rev}"

[shared]
dirs = ["run"]

[hooks]
post-switch = ['echo "$LAVA_INSTANCE_DIR $LAVA_RELEASE" >> {events}', 'if [ -f "$LAVA_SHARED_DIR/run/pid" ]; then kill $(cat "$LAVA_SHARED_DIR/run/pid") 2>/dev/null || true; sleep 0.3; fi; nohup python3 src/svc/serve.py {port} >/dev/null 2>&1 & echo $! > "$LAVA_SHARED_DIR/run/pid"']
check-url = "http://127.0.0.1:{port}/"
check-interval = "100ms"
{extra_hooks}
"#,
        svc = svc.url(),
        events = events.display(),
    )
}

/// One host: a namespace with a veth to the root namespace and an sshd.
struct Host {
    name: &'static str,
    group: &'static str,
    ns: String,
    /// The root namespace's end of the veth.
    veth: String,
    addr: Ipv4Addr,
    root: PathBuf,
    sshd: Option<Child>,
}

/// The hosts, the repositories they deploy from and the controller's files.
struct Lab {
    env: Env,
    hosts: Vec<Host>,
    svc: GitRepo,
    manifest: GitRepo,
    events: PathBuf,
    binary: PathBuf,
    /// The hosts' network, once made.
    bridge: Option<String>,
    /// The controller's address on it.
    gateway: Ipv4Addr,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for host in &mut self.hosts {
            // Everything running in the namespace was started by this test:
            // the sshd, its sessions and the service the hooks started.
            if let Ok(out) = Command::new("ip")
                .args(["netns", "pids", &host.ns])
                .output()
            {
                let pids = String::from_utf8_lossy(&out.stdout).into_owned();
                for pid in pids.split_whitespace() {
                    let _ = Command::new("kill").arg(pid).status();
                }
            }
            if let Some(mut sshd) = host.sshd.take() {
                let _ = sshd.kill();
                let _ = sshd.wait();
            }
            let _ = Command::new("ip").args(["netns", "del", &host.ns]).status();
            let _ = Command::new("ip")
                .args(["link", "del", &host.veth])
                .stderr(Stdio::null())
                .status();
        }
        if let Some(bridge) = &self.bridge {
            let _ = Command::new("ip").args(["link", "del", bridge]).status();
        }
        stop_processes_under(self.env.tmp.path());
    }
}

/// A /24 of 10.213.0.0/16 that no interface here uses, so two runs of this
/// test (other worktrees on the same machine) do not meet.
fn free_subnet(seq: u32) -> u8 {
    let addrs = run_ok("ip", &["-o", "-4", "addr", "show"]);
    let start = ((std::process::id() + 37 * seq) % 256) as u16;
    (0..256u16)
        .map(|i| ((start + i) % 256) as u8)
        .find(|x| !addrs.contains(&format!("10.213.{x}.")))
        .expect("a free 10.213.X.0/24")
}

/// Makes the namespace `ns` or says why it cannot.
fn try_namespace(ns: &str) -> Result<(), String> {
    let out = run("ip", &["netns", "add", ns]);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip netns add` failed (needs root / CAP_NET_ADMIN): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn wait_for_port(addr: Ipv4Addr, port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let target = SocketAddr::from((addr, port));
    while TcpStream::connect_timeout(&target, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} never listened on {target}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Lab {
    /// The hosts on one network: a bridge in this namespace (the
    /// controller's side, `gateway`) and a veth from each host's namespace
    /// plugged into it, so hosts reach each other and the controller
    /// without any forwarding. Call `missing_for_hosts` first.
    fn new(hosts: &[(&'static str, &'static str)]) -> Lab {
        let env = Env::new();
        // Unique per Lab (tests of one process run at once) and per process.
        static LABS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let seq = LABS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let tag = format!("{:x}{seq}", std::process::id());
        let subnet = free_subnet(seq);
        let tmp = env.tmp.path().to_owned();
        let key = tmp.join("id_ed25519");
        ssh_keygen(&key);
        // sshd refuses to start without its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let bridge = format!("lv{tag}br");
        let mut lab = Lab {
            svc: service_repo(&env),
            manifest: env.git_repo("manifest"),
            events: tmp.join("events"),
            binary: stripped_binary(&tmp),
            hosts: Vec::new(),
            bridge: None,
            gateway: Ipv4Addr::new(10, 213, subnet, 1),
            env,
        };
        run_ok("ip", &["link", "add", &bridge, "type", "bridge"]);
        lab.bridge = Some(bridge.clone());
        run_ok(
            "ip",
            &[
                "addr",
                "add",
                &format!("{}/24", lab.gateway),
                "dev",
                &bridge,
            ],
        );
        run_ok("ip", &["link", "set", &bridge, "up"]);
        let mut known_hosts = String::new();
        for (i, (name, group)) in hosts.iter().enumerate() {
            let ns = format!("lvlab{tag}-{i}");
            let addr = Ipv4Addr::new(10, 213, subnet, 10 + i as u8);
            let host = Host {
                name,
                group,
                veth: format!("lv{tag}h{i}"),
                addr,
                root: tmp.join("hosts").join(name).join("lava"),
                sshd: None,
                ns,
            };
            // Pushed before anything is made, so Drop cleans up after a
            // failure half-way.
            lab.hosts.push(host);
            let host = lab.hosts.last_mut().unwrap();
            try_namespace(&host.ns).unwrap();
            let peer = format!("lv{tag}n{i}");
            run_ok(
                "ip",
                &[
                    "link", "add", &host.veth, "type", "veth", "peer", "name", &peer,
                ],
            );
            run_ok("ip", &["link", "set", &peer, "netns", &host.ns]);
            run_ok("ip", &["link", "set", &host.veth, "master", &bridge]);
            run_ok("ip", &["link", "set", &host.veth, "up"]);
            let in_ns = |args: &[&str]| {
                let mut all = vec!["netns", "exec", &host.ns, "ip"];
                all.extend(args);
                run_ok("ip", &all);
            };
            in_ns(&["addr", "add", &format!("{addr}/24"), "dev", &peer]);
            in_ns(&["link", "set", &peer, "up"]);
            in_ns(&["link", "set", "lo", "up"]);
            // A default route, as a host has (lava-dispatcher refuses to run
            // a job without one); nothing is forwarded beyond the bridge.
            in_ns(&["route", "add", "default", "via", &lab.gateway.to_string()]);

            let dir = tmp.join("hosts").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            let host_key = dir.join("ssh_host_ed25519_key");
            ssh_keygen(&host_key);
            let config = dir.join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "ListenAddress {addr}\n\
                     HostKey {host_key}\n\
                     PidFile {pid}\n\
                     AuthorizedKeysFile {authorized}\n\
                     PermitRootLogin prohibit-password\n\
                     PasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\n\
                     UsePAM no\n\
                     StrictModes no\n\
                     Subsystem sftp internal-sftp\n",
                    host_key = host_key.display(),
                    pid = dir.join("sshd.pid").display(),
                    authorized = key.with_extension("pub").display(),
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
            host.sshd = Some(
                Command::new("ip")
                    .args([
                        "netns",
                        "exec",
                        &host.ns,
                        "/usr/sbin/sshd",
                        "-D",
                        "-e",
                        "-f",
                    ])
                    .arg(&config)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .unwrap(),
            );
            let public = std::fs::read_to_string(host_key.with_extension("pub")).unwrap();
            let mut fields = public.split_whitespace();
            let (kind, blob) = (fields.next().unwrap(), fields.next().unwrap());
            known_hosts.push_str(&format!("{addr} {kind} {blob}\n"));
        }
        std::fs::write(tmp.join("known_hosts"), known_hosts).unwrap();
        for host in &lab.hosts {
            wait_for_port(host.addr, 22, &format!("sshd of {}", host.name));
        }
        install_collection(&tmp.join("collections"));
        lab
    }

    fn tmp(&self) -> &Path {
        self.env.tmp.path()
    }

    /// The inventory, with `sick` carrying a host variable that breaks the
    /// check of manifests that look at it.
    fn write_inventory(&self, sick: Option<&str>) {
        let host_vars = |host: &Host| {
            if sick == Some(host.name) {
                r#" lava_environment='{"LAB_SICK": "1"}'"#.to_owned()
            } else {
                String::new()
            }
        };
        self.write_inventory_with(&host_vars, "");
    }

    /// The inventory of the `servers` and `workers` hosts, each with its
    /// address and root and `host_vars`, then `all_vars` lines.
    pub(crate) fn write_inventory_with(&self, host_vars: &dyn Fn(&Host) -> String, all_vars: &str) {
        let python = if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "auto_silent"
        };
        let mut text = String::new();
        for group in ["servers", "workers"] {
            text.push_str(&format!("[{group}]\n"));
            for host in self.hosts.iter().filter(|h| h.group == group) {
                text.push_str(&format!(
                    "{} ansible_host={} lava_root={}",
                    host.name,
                    host.addr,
                    host.root.display()
                ));
                text.push_str(&host_vars(host));
                text.push('\n');
            }
        }
        let tmp = self.tmp();
        text.push_str(&format!(
            "[all:vars]\n\
             ansible_user=root\n\
             ansible_python_interpreter={python}\n\
             ansible_ssh_private_key_file={key}\n\
             ansible_ssh_common_args='-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'\n",
            key = tmp.join("id_ed25519").display(),
            known = tmp.join("known_hosts").display(),
        ));
        text.push_str(all_vars);
        std::fs::write(tmp.join("inventory.ini"), text).unwrap();
    }

    fn publish(&self, rev: &str, extra_hooks: &str, tag: &str) -> String {
        self.manifest.write(
            "lava.toml",
            &service_manifest(&self.svc, rev, PORT, &self.events, extra_hooks),
        );
        let commit = self.manifest.commit(tag);
        self.manifest.tag(tag);
        commit
    }

    /// `ansible-playbook lava.deploy.lab` with the lab's variables.
    fn playbook(&self, extra: &[&str]) -> Run {
        let started = Instant::now();
        let out = ansible_command("ansible-playbook", self.tmp())
            .args(["-i", "inventory.ini", "lava.deploy.lab"])
            .args(["-e", &format!("lava_instance={INSTANCE}")])
            .args([
                "-e",
                &format!("lava_manifest_branch={}", self.manifest.url()),
            ])
            .args(["-e", &format!("lava_binary={}", self.binary.display())])
            .args(extra)
            .output()
            .unwrap();
        let run = Run::from(out);
        eprintln!(
            "ansible-playbook {extra:?}: exit {:?} in {:.1?}",
            run.code,
            started.elapsed()
        );
        run
    }

    fn host(&self, name: &str) -> &Host {
        self.hosts.iter().find(|h| h.name == name).unwrap()
    }

    /// Host names in the order their post-switch hooks ran, with the release.
    fn events(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(&self.events).unwrap_or_default();
        text.lines()
            .map(|line| {
                let (dir, release) = line.rsplit_once(' ').unwrap();
                let host = self
                    .hosts
                    .iter()
                    .find(|h| Path::new(dir).starts_with(&h.root))
                    .unwrap_or_else(|| panic!("no host owns {dir}"));
                (host.name.to_owned(), release.to_owned())
            })
            .collect()
    }
}

fn ssh_keygen(path: &Path) {
    run_ok(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "lab",
            "-f",
            path.to_str().unwrap(),
        ],
    );
}

impl Host {
    fn instance(&self) -> PathBuf {
        self.root.join("instances").join(INSTANCE)
    }

    fn current(&self) -> String {
        std::fs::read_link(self.instance().join("code/current"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|e| panic!("{}: no current release: {e}", self.name))
    }

    fn lock(&self) -> toml::Table {
        read_toml(&self.instance().join("code/current/lava.lock"))
    }

    fn record(&self) -> toml::Table {
        read_toml(&self.instance().join("instance.toml"))
    }

    /// What lava-deploy keeps of this instance: its record, its releases
    /// and where `current` points.
    fn snapshot(&self) -> (String, Vec<String>, String) {
        (
            std::fs::read_to_string(self.instance().join("instance.toml")).unwrap(),
            crate::support::list_dir(&self.instance().join("code")),
            self.current(),
        )
    }

    /// What the host's service answers, asked over its veth.
    fn serving(&self) -> String {
        let target = SocketAddr::from((self.addr, PORT));
        let mut stream = TcpStream::connect_timeout(&target, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{}: nothing serves on {target}: {e}", self.name));
        write!(stream, "GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer.rsplit("\r\n\r\n").next().unwrap().trim().to_owned()
    }
}

/// One finished ansible-playbook run, read the way an operator reads it.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    fn shown(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }

    /// PLAY RECAP: host -> counter -> value.
    fn recap(&self) -> BTreeMap<String, BTreeMap<String, u32>> {
        let recap = self
            .stdout
            .split("PLAY RECAP")
            .nth(1)
            .unwrap_or_else(|| panic!("no recap:\n{}", self.shown()));
        recap
            .lines()
            .filter_map(|line| line.split_once(" : "))
            .map(|(host, counters)| {
                let counters = counters
                    .split_whitespace()
                    .filter_map(|c| c.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
                    .collect();
                (host.trim().to_owned(), counters)
            })
            .collect()
    }

    fn recap_of(&self, host: &str, counter: &str) -> u32 {
        let recap = self.recap();
        let counters = recap
            .get(host)
            .unwrap_or_else(|| panic!("{host} not in the recap:\n{}", self.shown()));
        counters[counter]
    }

    /// The outcome of the deploy task per host (`ok`, `changed`, `fatal`)
    /// and the text the task printed for it before (its diff).
    fn deploy_task(&self) -> BTreeMap<String, (String, String)> {
        let mut results = BTreeMap::new();
        let mut in_task = false;
        let mut block = String::new();
        for line in self.stdout.lines() {
            if line.starts_with("TASK [") || line.starts_with("PLAY ") {
                in_task = line.contains(&format!("Deploy instance {INSTANCE}]"));
                block.clear();
                continue;
            }
            if !in_task {
                continue;
            }
            let outcome = ["ok", "changed", "fatal"]
                .into_iter()
                .find(|o| line.starts_with(&format!("{o}: [")));
            match outcome {
                Some(outcome) => {
                    let host = line[outcome.len() + 3..].split(']').next().unwrap();
                    results.insert(host.to_owned(), (outcome.to_owned(), block.clone()));
                    block.clear();
                }
                None => {
                    block.push_str(line);
                    block.push('\n');
                }
            }
        }
        results
    }
}

#[test]
fn a_lab_rolls_in_lockstep_and_stops_at_the_first_failed_check() {
    if !support::require(missing_for_hosts()) {
        return;
    }
    let started = Instant::now();
    let lab = Lab::new(&HOSTS);
    eprintln!(
        "lab of {} hosts up in {:.1?}",
        HOSTS.len(),
        started.elapsed()
    );
    lab.write_inventory(None);
    let r1 = lab.publish("v1", "", "r1");

    // First run: every host installs the same manifest commit, the server
    // first, then the workers one at a time.
    let first = lab.playbook(&[]);
    assert_eq!(first.code, Some(0), "{}", first.shown());
    let deploy = first.deploy_task();
    for host in &lab.hosts {
        assert_eq!(deploy[host.name].0, "changed", "{}", first.shown());
        assert_eq!(host.current(), "0001-r1", "{}", host.name);
        assert_eq!(
            host.lock()["manifest"]["commit"].as_str(),
            Some(r1.as_str())
        );
        assert_eq!(
            host.record()["source"]["branch"].as_str(),
            Some(format!("{}#{r1}", lab.manifest.url()).as_str()),
            "{} follows the exact commit, not the branch",
            host.name
        );
        assert!(
            host.root.join("bin/lava-deploy").is_file(),
            "the binary was copied"
        );
        assert_eq!(host.serving(), "v1", "{}", host.name);
    }
    let order: Vec<String> = lab.events().into_iter().map(|(h, _)| h).collect();
    assert_eq!(order, ["server1", "worker1", "worker2", "worker3"]);

    // Second run: nothing to do anywhere.
    let second = lab.playbook(&[]);
    assert_eq!(second.code, Some(0), "{}", second.shown());
    for host in ["localhost", "server1", "worker1", "worker2", "worker3"] {
        assert_eq!(
            second.recap_of(host, "changed"),
            0,
            "{host}: {}",
            second.shown()
        );
    }
    assert_eq!(lab.events().len(), HOSTS.len(), "no hook ran again");

    // A new manifest: --check --diff shows each host's component change and
    // touches nothing.
    let r2 = lab.publish(
        "v2",
        "check = 'test -z \"$LAB_SICK\"'\ncheck-timeout = \"2s\"",
        "r2",
    );
    let before: Vec<_> = lab.hosts.iter().map(Host::snapshot).collect();
    let check = lab.playbook(&["--check", "--diff"]);
    assert_eq!(check.code, Some(0), "{}", check.shown());
    let deploy = check.deploy_task();
    for host in &lab.hosts {
        let (outcome, diff) = &deploy[host.name];
        assert_eq!(outcome, "changed", "{}", check.shown());
        assert!(diff.contains("-svc: v1 ("), "{}: {diff}", host.name);
        assert!(diff.contains("+svc: v2 ("), "{}: {diff}", host.name);
        assert!(
            diff.contains(&format!(
                "+++ after: {} manifest {r2}",
                host.instance().display()
            )),
            "the diff names the host's instance and the commit: {diff}"
        );
    }
    let after: Vec<_> = lab.hosts.iter().map(Host::snapshot).collect();
    assert_eq!(before, after, "--check changed something");
    assert!(lab.hosts.iter().all(|h| h.serving() == "v1"));

    // The roll: worker2's check fails. lava-deploy puts it back on its
    // release, the roll stops there, and worker3 is never touched.
    lab.write_inventory(Some("worker2"));
    let worker3 = lab.host("worker3").snapshot();
    let roll = lab.playbook(&[]);
    assert_ne!(roll.code, Some(0), "{}", roll.shown());
    assert!(roll.stdout.contains("fatal: [worker2]"), "{}", roll.shown());
    assert!(
        roll.stdout.contains("rolled back to release 0001-r1"),
        "{}",
        roll.shown()
    );
    assert_eq!(roll.recap_of("worker2", "failed"), 1);
    assert!(
        !roll.recap().contains_key("worker3"),
        "worker3 was in a later batch: {}",
        roll.shown()
    );
    for name in ["server1", "worker1"] {
        let host = lab.host(name);
        assert_eq!(host.current(), "0002-r2", "{name}");
        assert_eq!(
            host.lock()["manifest"]["commit"].as_str(),
            Some(r2.as_str())
        );
        assert_eq!(host.serving(), "v2", "{name}");
    }
    let worker2 = lab.host("worker2");
    assert_eq!(
        worker2.current(),
        "0001-r1",
        "worker2 is back on its release"
    );
    assert_eq!(worker2.serving(), "v1");
    let releases = worker2.record()["release"].as_array().unwrap().clone();
    assert_eq!(releases[1]["name"].as_str(), Some("0002-r2"));
    assert!(
        releases[1]["failed"]
            .as_str()
            .is_some_and(|why| why.contains("health check")),
        "{releases:?}"
    );
    assert_eq!(lab.host("worker3").snapshot(), worker3, "worker3 untouched");
    assert_eq!(lab.host("worker3").serving(), "v1");
    let events = lab.events();
    assert_eq!(
        events[HOSTS.len()..],
        [
            ("server1".to_owned(), "0002-r2".to_owned()),
            ("worker1".to_owned(), "0002-r2".to_owned()),
            ("worker2".to_owned(), "0002-r2".to_owned()),
            ("worker2".to_owned(), "0001-r1".to_owned()),
        ]
    );
    eprintln!("lab test: {:.1?} in all", started.elapsed());
}

/// `ansible localhost -m lava.deploy.lava_deploy` on this machine: the
/// module's own contract, without ssh or namespaces.
struct Local {
    env: Env,
    svc: GitRepo,
    manifest: GitRepo,
    events: PathBuf,
}

impl Drop for Local {
    fn drop(&mut self) {
        // `state: absent` removes the instance, not the service it runs.
        stop_processes_under(self.env.tmp.path());
    }
}

impl Local {
    /// Runs the module with `args` (JSON) and returns what ansible printed
    /// before the result (the diff) and the result, with `failed` set as
    /// the result line said (ad-hoc output drops the key).
    fn module(&self, args: serde_json::Value, flags: &[&str]) -> (String, serde_json::Value) {
        let (run, value) = self.module_run(args, flags);
        let before = run.stdout.split_once("localhost | ").unwrap().0;
        (before.to_owned(), value)
    }

    /// The same, with the whole run (all ansible printed) instead of the
    /// text before the result.
    fn module_run(&self, args: serde_json::Value, flags: &[&str]) -> (Run, serde_json::Value) {
        let mut args = args;
        args["name"] = "x".into();
        args["root"] = self.env.root.to_string_lossy().into_owned().into();
        args["binary"] = assert_cmd::cargo::cargo_bin("lava-deploy")
            .to_string_lossy()
            .into_owned()
            .into();
        let out = ansible_command("ansible", self.env.tmp.path())
            .args(["localhost", "-c", "local", "-m", "lava.deploy.lava_deploy"])
            .arg("-a")
            .arg(args.to_string())
            .args(flags)
            .output()
            .unwrap();
        let run = Run::from(out);
        let (_, result) = run
            .stdout
            .split_once("localhost | ")
            .unwrap_or_else(|| panic!("no result:\n{}", run.shown()));
        let (status, json) = result.split_once(" => ").expect("STATUS => {result}");
        let mut value: serde_json::Value =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}:\n{}", run.shown()));
        value["failed"] = (status == "FAILED!").into();
        (run, value)
    }
}

#[test]
fn the_module_installs_upgrades_plans_and_removes_one_instance() {
    if !support::require(missing_tools(false)) {
        return;
    }
    let env = Env::new();
    install_collection(&env.path("collections"));
    let local = Local {
        svc: service_repo(&env),
        manifest: env.git_repo("manifest"),
        events: env.path("events"),
        env,
    };
    // This test's service runs in the machine's own network namespace.
    let port = crate::support::free_port();
    let publish = |rev: &str, hooks: &str, tag: &str| {
        let manifest = service_manifest(&local.svc, rev, port, &local.events, hooks);
        local.manifest.write("lava.toml", &manifest);
        local.manifest.commit(tag);
        local.manifest.tag(tag);
    };
    publish("v1", "", "r1");
    let branch = serde_json::json!({"manifest_branch": local.manifest.url()});
    let instance = local.env.instance_dir("x");

    // Check mode on a new instance: would install, lists the components at
    // the pins the install would deploy, writes nothing.
    let (diff, result) = local.module(branch.clone(), &["--check", "--diff"]);
    assert_eq!(result["changed"], true, "{result}");
    assert_eq!(result["action"], "install");
    let v1 = local.svc.git(&["rev-parse", "v1^{commit}"]);
    assert!(diff.contains(&format!("+svc: v1 ({:.12})", v1)), "{diff}");
    assert!(
        diff.contains(&format!("{} (not installed)", instance.display())),
        "{diff}"
    );
    assert_eq!(result["manifest"]["commit"], local.manifest.head());
    assert!(!instance.exists());

    let (_, result) = local.module(branch.clone(), &[]);
    assert_eq!(result["failed"], false, "{result}");
    assert_eq!(result["changed"], true, "{result}");
    assert_eq!(result["action"], "install");
    assert_eq!(result["release"], "0001-r1");
    assert_eq!(result["rolled_back"], false);
    assert_eq!(result["changes"][0]["component"], "svc");
    assert_eq!(result["manifest"]["commit"], local.manifest.head());
    assert_eq!(
        result["follows"]["branch"].as_str(),
        Some(local.manifest.url().as_str())
    );

    let (_, result) = local.module(branch.clone(), &[]);
    assert_eq!(result["changed"], false, "idempotent: {result}");
    assert_eq!(result["action"], "upgrade");

    // A release whose check fails: rolled back by the binary, the task
    // fails with its message and fields; the same pins are then refused.
    publish("v2", "check = \"false\"\ncheck-timeout = \"1s\"", "r2");
    let (_, result) = local.module(branch.clone(), &["--check"]);
    assert_eq!(result["changed"], true, "{result}");
    assert_eq!(result["changes"][0]["component"], "svc");
    let (_, result) = local.module(branch.clone(), &[]);
    assert_eq!(result["failed"], true, "{result}");
    assert_eq!(result["rolled_back"], true);
    assert_eq!(result["failed_release"], "0002-r2");
    assert_eq!(result["release"], "0001-r1");
    assert!(result["msg"]
        .as_str()
        .unwrap()
        .contains("rolled back to release 0001-r1"));
    let (_, result) = local.module(branch.clone(), &[]);
    assert_eq!(result["failed"], true, "{result}");
    assert!(
        result["msg"].as_str().unwrap().contains("--retry-failed"),
        "{result}"
    );

    // Both flags reach the binary: the failed pins are built again, and
    // without hooks nothing checks them.
    let mut forced = branch.clone();
    forced["retry_failed"] = true.into();
    forced["no_hooks"] = true.into();
    let (_, result) = local.module(forced, &[]);
    assert_eq!(result["failed"], false, "{result}");
    assert_eq!(result["changed"], true, "{result}");
    assert_eq!(result["release"], "0003-r2");
    assert_eq!(result["hooks"], serde_json::json!([]));

    // Removal: check mode keeps it, then it goes, then there is nothing to do.
    let absent = serde_json::json!({"state": "absent"});
    let (_, result) = local.module(absent.clone(), &["--check"]);
    assert_eq!(result["changed"], true, "{result}");
    assert!(instance.exists());
    let (_, result) = local.module(absent.clone(), &[]);
    assert_eq!(result["changed"], true, "{result}");
    assert!(!instance.exists());
    let (_, result) = local.module(absent, &[]);
    assert_eq!(result["changed"], false, "{result}");
}

#[test]
fn the_module_sets_secrets_before_it_deploys_and_never_shows_them() {
    if !support::require(missing_tools(false)) {
        return;
    }
    let env = Env::new();
    install_collection(&env.path("collections"));
    let local = Local {
        svc: service_repo(&env),
        manifest: env.git_repo("manifest"),
        events: env.path("events"),
        env,
    };
    // The release's post-switch records a hash of the token it was given.
    local.manifest.write(
        "lava.toml",
        &format!(
            "[components.svc]\ngit = \"{}\"\nrev = \"v1\"\n\n[shared]\ndirs = [\"run\"]\n\n\
             [secrets]\nrequired = [\"TOKEN\"]\n\n\
             [hooks]\npost-switch = 'printf %s \"$TOKEN\" | sha256sum | cut -c1-64 > \"$LAVA_SHARED_DIR/run/token\"'\n",
            local.svc.url()
        ),
    );
    local.manifest.commit("r1");
    local.manifest.tag("r1");
    let instance = local.env.instance_dir("x");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let first = format!("first-token-{nanos:x}");
    let second = format!("second-token-{nanos:x}");
    let with_token = |token: &str| serde_json::json!({"manifest_branch": local.manifest.url(), "secrets": {"TOKEN": token}});
    let deployed_hash = || std::fs::read_to_string(instance.join("shared/run/token")).unwrap();
    let no_value = |run: &Run, result: &serde_json::Value| {
        for token in [&first, &second] {
            assert!(
                !run.shown().contains(token.as_str()),
                "a secret in the output:\n{}",
                run.shown()
            );
            assert!(
                !result.to_string().contains(token.as_str()),
                "a secret in the result: {result}"
            );
        }
    };

    // Check mode on a new instance: the secret would be set, nothing is.
    let (run, result) = local.module_run(with_token(&first), &["--check", "--diff", "-v"]);
    no_value(&run, &result);
    assert_eq!(result["changed"], true, "{result}");
    assert!(
        run.stdout.contains("~ secret TOKEN changed"),
        "{}",
        run.shown()
    );
    assert_eq!(
        result["secrets"],
        serde_json::json!([{"key": "TOKEN", "change": "changed"}])
    );
    assert!(!instance.exists(), "check mode wrote the instance");
    assert!(
        !run.shown().contains("would be refused"),
        "the secret the module sets is not missing: {}",
        run.shown()
    );

    // The run: set before the install (which requires it), deployed.
    let (run, result) = local.module_run(with_token(&first), &["--diff", "-vvv"]);
    no_value(&run, &result);
    assert_eq!(result["failed"], false, "{}", run.shown());
    assert_eq!(result["changed"], true);
    assert_eq!(result["release"], "0001-r1");
    assert_eq!(
        result["invocation"]["module_args"]["secrets"],
        serde_json::json!({"TOKEN": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"})
    );
    assert!(
        run.stdout.contains("~ secret TOKEN changed"),
        "{}",
        run.shown()
    );
    assert_eq!(
        deployed_hash().trim(),
        crate::support::sha256_hex(first.as_bytes())
    );

    // The same value again: nothing to do, in check mode or not.
    let (_, result) = local.module(with_token(&first), &["--check"]);
    assert_eq!(result["changed"], false, "{result}");
    let (_, result) = local.module(with_token(&first), &[]);
    assert_eq!(result["changed"], false, "{result}");
    assert_eq!(result["secrets"], serde_json::json!([]));

    // A new value: check mode sees it and writes nothing; the run deploys it.
    let stored = std::fs::read(instance.join("secrets")).unwrap();
    let (run, result) = local.module_run(with_token(&second), &["--check", "--diff"]);
    no_value(&run, &result);
    assert_eq!(result["changed"], true, "{result}");
    assert!(
        run.stdout.contains("~ secret TOKEN changed"),
        "{}",
        run.shown()
    );
    assert_eq!(std::fs::read(instance.join("secrets")).unwrap(), stored);
    let (run, result) = local.module_run(with_token(&second), &["--diff", "-v"]);
    no_value(&run, &result);
    assert_eq!(result["changed"], true, "{result}");
    assert_eq!(
        result["release"], "0002-r1",
        "a changed secret is a new release"
    );
    assert_eq!(
        deployed_hash().trim(),
        crate::support::sha256_hex(second.as_bytes())
    );

    // Nowhere under the controller's side of the test but the secrets file.
    let secrets_file = instance.join("secrets");
    let mut stack = vec![local.env.tmp.path().to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && path != secrets_file {
                let bytes = std::fs::read(&path).unwrap();
                for token in [&first, &second] {
                    assert!(
                        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                        "a secret in {}",
                        path.display()
                    );
                }
            }
        }
    }

    // state: absent takes the secrets with the instance.
    let mut absent = with_token(&second);
    absent["state"] = "absent".into();
    let (_, result) = local.module(absent, &[]);
    assert_eq!(result["changed"], true, "{result}");
    assert!(!instance.exists());
}

/// Stands in for `lava-worker`: writes its arguments and the token it read
/// from its `--token-file` where `FAKE_LAVA_WORKER_ARGS` says, then runs
/// until killed.
const FAKE_LAVA_WORKER: &str = r#"#!/bin/sh
token=""
prev=""
for arg in "$@"; do
    if [ "$prev" = "--token-file" ]; then read -r token < "$arg"; fi
    prev="$arg"
done
echo "$* token=$token" >> "$FAKE_LAVA_WORKER_ARGS"
exec sleep 600
"#;

/// Running, that is: there and not a zombie (a killed daemon whose parent,
/// init here, has not reaped it yet).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("State:"))
            .is_some_and(|state| !state.trim_start().starts_with('Z'))
    })
}

#[test]
fn the_worker_manifest_takes_its_server_and_name_from_the_lab_or_the_environment() {
    let env = Env::new();
    // The hooks of manifests/lava-worker.toml as shipped, with the LAVA
    // tree swapped for a small one, lava-worker for a stand-in and no check
    // (it asks a real server: tests/it/lava_lab.rs): what is tested is
    // where the server's URL, the worker's name and its token come from,
    // as the lab playbook gives them (lava-deploy's environment, a secret)
    // or a lab's own manifest does (an extending file's [environment]).
    let worker_toml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/lava-worker.toml"),
    )
    .unwrap();
    let tree = env.tagged_repo("tree", "README", &[("v1", "tree\n")]);
    let manifest = env.git_repo("manifest");
    let lab_worker = |environment: &str| {
        format!(
            "[manifest]\nextends = \"lava-worker.toml\"\n\n\
             [components.lava]\nremove = true\n\n\
             [components.tree]\ngit = \"{}\"\nrev = \"v1\"\n\n\
             [environment]\n{environment}\n\n[hooks]\ncheck = []\n",
            tree.url()
        )
    };
    manifest.write("lava-worker.toml", &worker_toml);
    manifest.write("lab-worker.toml", &lab_worker(""));
    manifest.commit("r1");
    manifest.tag("r1");

    let fake_bin = env.path("fake-bin");
    std::fs::create_dir_all(&fake_bin).unwrap();
    let fake = fake_bin.join("lava-worker");
    std::fs::write(&fake, FAKE_LAVA_WORKER).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let args_file = env.path("worker-args");
    let path = format!(
        "{}:{}",
        fake_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let lava = |args: &[&str]| {
        env.cmd()
            .env("PATH", &path)
            .env("FAKE_LAVA_WORKER_ARGS", &args_file)
            .env("LAVA_SERVER_URL", "http://from-environment.test:8000/")
            .env("LAVA_WORKER_NAME", "w-env")
            .args(args)
            .assert()
    };
    let shared = env.instance_dir("w").join("shared");
    let pid_file = shared.join("run/lava-worker.pid");
    let _stop = StopUnder(env.tmp.path().to_owned());
    let started = || {
        let text = std::fs::read_to_string(&args_file).unwrap();
        text.lines().last().unwrap().to_owned()
    };

    env.cmd()
        .args(["secret", "set", "w", "LAVA_WORKER_TOKEN"])
        .write_stdin("the-worker-token\n")
        .assert()
        .success();
    lava(&[
        "install",
        "w",
        "--manifest-branch",
        &manifest.url(),
        "--cfg",
        "lab-worker.toml",
    ])
    .success();
    let first_pid = std::fs::read_to_string(&pid_file).unwrap();
    assert!(alive(&first_pid), "lava-worker runs after the install");
    assert_eq!(
        started(),
        format!(
            "--name w-env --url http://from-environment.test:8000/ \
             --worker-dir {shared}/var/lib/lava-worker --log-file {shared}/var/log/lava-worker.log \
             --level INFO --token-file /dev/fd/3 token=the-worker-token",
            shared = shared.display()
        )
    );

    // A lab's own [environment] wins over lava-deploy's environment.
    manifest.write(
        "lab-worker.toml",
        &lab_worker(
            "LAVA_SERVER_URL = \"http://lava.lab.test/\"\nLAVA_WORKER_NAME = \"w1\"\n\
             LAVA_WORKER_WS_URL = \"http://lava.lab.test:8001/ws/\"",
        ),
    );
    manifest.commit("r2");
    manifest.tag("r2");
    lava(&["upgrade", "w"]).success();
    assert!(!alive(&first_pid), "the r1 worker was stopped for r2");
    assert!(alive(&std::fs::read_to_string(&pid_file).unwrap()));
    let line = started();
    assert!(
        line.starts_with("--name w1 --url http://lava.lab.test/ "),
        "{line}"
    );
    assert!(
        line.ends_with("--ws-url http://lava.lab.test:8001/ws/ token=the-worker-token"),
        "{line}"
    );
}

#[test]
fn a_failed_server_ends_the_playbook_before_any_worker() {
    if !support::require(missing_tools(false)) {
        return;
    }
    // The playbook's ordering needs no ssh to be tested: two hosts of this
    // machine (local connection), each with its own root.
    let env = Env::new();
    let tmp = env.tmp.path().to_owned();
    let _stop = StopUnder(tmp.clone());
    install_collection(&tmp.join("collections"));
    let svc = service_repo(&env);
    let manifest = env.git_repo("manifest");
    manifest.write(
        "lava.toml",
        &service_manifest(
            &svc,
            "v1",
            crate::support::free_port(),
            &tmp.join("events"),
            "check = 'test -z \"$LAB_SICK\"'\ncheck-timeout = \"1s\"",
        ),
    );
    manifest.commit("r1");
    let root = |host: &str| tmp.join(host).join("lava");
    std::fs::write(
        tmp.join("inventory.ini"),
        format!(
            "[servers]\nserver1 lava_root={} lava_environment='{{\"LAB_SICK\": \"1\"}}'\n\
             [workers]\nworker1 lava_root={}\n\
             [all:vars]\nansible_connection=local\nansible_python_interpreter={}\n",
            root("server1").display(),
            root("worker1").display(),
            run_ok("python3", &["-c", "import sys; print(sys.executable)"]).trim(),
        ),
    )
    .unwrap();
    let out = ansible_command("ansible-playbook", &tmp)
        .args(["-i", "inventory.ini", "lava.deploy.lab"])
        .args(["-e", "lava_instance=lab"])
        .args(["-e", &format!("lava_manifest_branch={}", manifest.url())])
        .args([
            "-e",
            &format!("lava_binary={}", stripped_binary(&tmp).display()),
        ])
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_ne!(run.code, Some(0), "{}", run.shown());
    assert!(run.stdout.contains("fatal: [server1]"), "{}", run.shown());
    assert!(
        run.stdout
            .contains("there is no earlier release to return to"),
        "{}",
        run.shown()
    );
    assert!(
        !run.recap().contains_key("worker1"),
        "no worker may deploy after a failed server: {}",
        run.shown()
    );
    assert!(!root("worker1").exists(), "worker1 untouched");
    // The server's first release failed its check: nothing stays current.
    assert!(!root("server1").join("instances/lab/code/current").exists());
}
