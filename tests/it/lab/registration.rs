//! The lab playbook's worker registration without LAVA: two hosts of this
//! machine (local connection, a root each), a "server" whose release carries
//! a stand-in `lava-server manage workers details|add` (a worker is a file in
//! its shared/ holding a fresh token), and a "worker" whose manifest requires
//! `LAVA_WORKER_TOKEN` and records what it was started with. The real LAVA
//! lab is `lab::lava`; this one takes seconds and covers the `workers add`
//! path (there, `manage sync` has made the worker before the playbook asks).

use std::path::Path;

use super::{
    ansible_command, install_collection, missing_tools, run_ok, service_repo, stripped_binary,
    StopUnder,
};
use crate::support::{self, Env};

/// `lava-server manage workers details|add NAME` as LAVA 2026.07 prints it.
const FAKE_LAVA_SERVER: &str = r#"#!/bin/sh
db="$LAVA_SHARED_DIR/workers"
case "$1 $2 $3" in
"manage workers details")
    [ -f "$db/$4" ] || { echo "CommandError: Unable to find worker '$4'" >&2; exit 1; }
    echo "hostname   : $4"
    echo "state      : Offline"
    echo "token      : $(cat "$db/$4")"
    ;;
"manage workers add")
    [ -f "$db/$4" ] && { echo "CommandError: Worker already exists with hostname $4" >&2; exit 1; }
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$db/$4"
    echo "Token: $(cat "$db/$4")"
    ;;
*) echo "fake lava-server: $*" >&2; exit 2 ;;
esac
"#;

#[test]
fn the_lab_playbook_registers_each_worker_once_and_hands_it_its_token() {
    if !support::require(missing_tools(false)) {
        return;
    }
    let env = Env::new();
    let tmp = env.tmp.path().to_owned();
    let _stop = StopUnder(tmp.clone());
    install_collection(&tmp.join("collections"));
    let svc = service_repo(&env);
    let manifest = env.git_repo("manifest");
    let component = format!("[components.svc]\ngit = \"{}\"\nrev = \"v1\"\n", svc.url());
    manifest.write(
        "server.toml",
        &format!(
            "{component}\n[shared]\ndirs = [\"workers\"]\n\n[hooks]\nbuild = '''\n\
             mkdir -p bin\ncat > bin/lava-server <<'FAKE'\n{FAKE_LAVA_SERVER}FAKE\n\
             chmod 755 bin/lava-server\n'''\n"
        ),
    );
    manifest.write(
        "worker.toml",
        &format!(
            "{component}\n[secrets]\nrequired = [\"LAVA_WORKER_TOKEN\"]\n\n[shared]\ndirs = [\"run\"]\n\n\
             [hooks]\npost-switch = 'printf \"%s %s %s\\n\" \"$LAVA_SERVER_URL\" \"$LAVA_WORKER_NAME\" \
             \"$(printf %s \"$LAVA_WORKER_TOKEN\" | sha256sum | cut -c1-64)\" > \"$LAVA_SHARED_DIR/run/joined\"'\n"
        ),
    );
    manifest.commit("r1");
    let root = |host: &str| tmp.join(host).join("lava");
    std::fs::write(
        tmp.join("inventory.ini"),
        format!(
            "[servers]\nserver1 lava_root={} lava_cfg=server.toml\n\
             [workers]\nworker1 lava_root={} lava_cfg=worker.toml lava_worker_name=w-one\n\
             [all:vars]\nansible_connection=local\nansible_python_interpreter={}\n",
            root("server1").display(),
            root("worker1").display(),
            run_ok("python3", &["-c", "import sys; print(sys.executable)"]).trim(),
        ),
    )
    .unwrap();
    let binary = stripped_binary(&tmp);
    let playbook = |extra: &[&str]| {
        let out = ansible_command("ansible-playbook", &tmp)
            .args(["-i", "inventory.ini", "lava.deploy.lab", "-v", "--diff"])
            .args(["-e", "lava_instance=lab"])
            .args(["-e", &format!("lava_manifest_branch={}", manifest.url())])
            .args(["-e", &format!("lava_binary={}", binary.display())])
            .args(["-e", "lava_server_url=http://server.lab.test:8000/"])
            .args(extra)
            .output()
            .unwrap();
        super::Run::from(out)
    };
    let server_db = root("server1").join("instances/lab/shared/workers/w-one");
    let joined = root("worker1").join("instances/lab/shared/run/joined");

    let first = playbook(&[]);
    assert_eq!(first.code, Some(0), "{}", first.shown());
    assert!(
        first.stdout.contains("changed: [worker1 -> server1"),
        "the worker was added on the server: {}",
        first.shown()
    );
    let token = std::fs::read_to_string(&server_db)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(token.len(), 32, "{token}");
    assert_eq!(
        std::fs::read_to_string(&joined).unwrap().trim(),
        format!(
            "http://server.lab.test:8000/ w-one {}",
            support::sha256_hex(token.as_bytes())
        ),
        "the worker got the server's URL, its name and its token"
    );

    // Again, and in check mode: the worker is only read, nothing changes.
    let second = playbook(&[]);
    assert_eq!(second.code, Some(0), "{}", second.shown());
    let check = playbook(&["--check"]);
    assert_eq!(check.code, Some(0), "{}", check.shown());
    for run in [&second, &check] {
        for host in ["localhost", "server1", "worker1"] {
            assert_eq!(run.recap_of(host, "changed"), 0, "{host}: {}", run.shown());
        }
    }
    assert_eq!(std::fs::read_to_string(&server_db).unwrap().trim(), token);

    // The token: in no output, and in no file but the server's record of
    // the worker and the worker's secrets.
    for run in [&first, &second, &check] {
        assert!(
            !run.shown().contains(&token),
            "the token in the output:\n{}",
            run.shown()
        );
    }
    let secrets = root("worker1").join("instances/lab/secrets");
    let holding =
        super::lava::files_holding(&tmp, &token, &|p: &Path| p == server_db || p == secrets);
    assert!(holding.is_empty(), "files holding the token: {holding:?}");
    assert!(std::fs::read_to_string(&secrets).unwrap().contains(&token));
}
