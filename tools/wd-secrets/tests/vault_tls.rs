//! Vault's own listener on TLS, on a REAL OpenBao, as `k8s-deploy.sh up` does it in two phases:
//! a plain listener first (init, unseal, the internal CA), then a restart on the same storage
//! with a certificate the internal CA signed for the cluster's names, reached through a
//! "port-forward" (127.0.0.1) with `--vault-tls-server-name`; a raft join over https with the
//! leader's CA; and terraform/platform/vault/tls-reload.sh (under busybox, as in the alpine vault
//! image) making a running server present a renewed certificate swapped in the kubelet way.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use wd_testsupport::cli::{clean_command, json_ok};
use wd_testsupport::openbao::{bao, free_port, http, server_with_config, Server};
use wd_testsupport::pki::{
    cert_manager_secret, key_path, leaf, self_signed_ca, sign, vault_dns_names, SIGN,
};
use wd_testsupport::{render_scenario, repo_root};

const BIN: &str = env!("CARGO_BIN_EXE_wd-secrets");

/// The name the tools verify through the port-forward to pod vault-0.
const POD0: &str = "vault-0.vault-internal.vault.svc";

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = clean_command(BIN);
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args).args(["--format", "json"]).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A raft node's configuration: storage in `data`, API on `port`, cluster on `cport`; a TLS
/// listener when `tls` holds (cert, key) files.
fn raft_hcl(data: &Path, id: &str, port: u16, cport: u16, tls: Option<(&Path, &Path)>) -> String {
    let (scheme, listener_tls) = match tls {
        Some((crt, key)) => (
            "https",
            format!(
                "  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n",
                crt.display(),
                key.display()
            ),
        ),
        None => ("http", "  tls_disable = true\n".to_string()),
    };
    format!(
        "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"{id}\"\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  cluster_address = \"127.0.0.1:{cport}\"\n{listener_tls}}}\napi_addr = \"{scheme}://127.0.0.1:{port}\"\ncluster_addr = \"https://127.0.0.1:{cport}\"\ndisable_mlock = true\n",
        data.display()
    )
}

/// `GET sys/health` status with curl (the tests' own client): over TLS it verifies against `ca`
/// with the name `name` resolved to 127.0.0.1, as a port-forward is reached.
fn health(port: u16, tls: Option<(&Path, &str)>) -> u16 {
    let mut c = Command::new("curl");
    c.args(["-s", "-m", "2", "-o", "/dev/null", "-w", "%{http_code}"]);
    let url = match tls {
        Some((ca, name)) => {
            c.args([
                "--cacert",
                s(ca),
                "--resolve",
                &format!("{name}:{port}:127.0.0.1"),
            ]);
            format!("https://{name}:{port}/v1/sys/health")
        }
        None => format!("http://127.0.0.1:{port}/v1/sys/health"),
    };
    let out = c.arg(url).output().unwrap();
    String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0)
}

/// Waits (at most 20 s) until the node answers 200 (unsealed and active: raft elected it).
fn wait_active(port: u16, tls: Option<(&Path, &str)>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while health(port, tls) != 200 {
        assert!(
            Instant::now() < deadline,
            "127.0.0.1:{port} is not active after 20 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn openssl(args: &[&str]) -> String {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "openssl {args:?}: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The SHA-256 fingerprint of the certificate the server on 127.0.0.1:`port` presents (openssl
/// s_client: no verification, only what is on the wire).
fn presented(port: u16) -> String {
    let mut sc = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            POD0,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(sc.stdout.as_mut().unwrap(), &mut out).unwrap();
    let _ = sc.wait();
    fingerprint_of(&out)
}

/// The SHA-256 fingerprint of the first certificate in `pem` ("" when there is none).
fn fingerprint_of(pem: &str) -> String {
    let mut c = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(c.stdin.as_mut().unwrap(), pem.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn keys_token(keys: &Path) -> String {
    let k: Value = serde_json::from_str(&std::fs::read_to_string(keys).unwrap()).unwrap();
    k["root_token"].as_str().unwrap().to_string()
}

// ------------------------------------------------------------------- a. the two phases of `up`

#[test]
fn vault_restarted_on_the_internal_cas_certificate_is_unsealed_through_a_forwarded_port() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("raft");
    std::fs::create_dir_all(&data).unwrap();
    let (port, cport) = (free_port(), free_port());
    let keys = dir.join("vault-init.json");
    let plan = dir.join("render");
    render_scenario(Path::new(BIN), "waltid", &plan);
    let plan = plan.join("secrets/secret-plan.json");
    let root_pem = dir.join("internal-ca.pem");

    // phase 1: plain listener, init + unseal, the internal CA (as k8s-deploy.sh up)
    let plain = server_with_config(
        &bao(),
        dir,
        "plain",
        &raft_hcl(&data, "vault-0", port, cport, None),
        &format!("http://127.0.0.1:{port}"),
    );
    let o = run(
        &[
            "init",
            "--node",
            &plain.addr,
            "--keys-file",
            s(&keys),
            "--key-shares",
            "1",
            "--key-threshold",
            "1",
        ],
        &[],
    );
    assert_eq!(json_ok(&o)["nodes"][0]["action"], "initialized, unsealed");
    wait_active(port, None);
    let token = keys_token(&keys);
    let vault = [
        ("VAULT_ADDR", plain.addr.as_str()),
        ("VAULT_TOKEN", token.as_str()),
    ];
    json_ok(&run(
        &[
            "policies",
            "--plan",
            s(&plan),
            "--apply",
            "--pki",
            "--pki-domain",
            "localtest.me",
            "--pki-ca-out",
            s(&root_pem),
        ],
        &vault,
    ));

    // cert-manager's request for the Certificate's DNS names, signed by role wd-internal
    let names = vault_dns_names(3);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (code, signed) = sign(&plain.addr, &token, SIGN, dir, &names);
    assert_eq!(
        code, 200,
        "the role must sign every DNS name of Vault's certificate: {signed}"
    );
    let (tls_crt, ca_crt) = cert_manager_secret(&signed);
    assert_eq!(
        ca_crt.trim(),
        std::fs::read_to_string(&root_pem).unwrap().trim()
    );
    assert_eq!(
        tls_crt.matches("BEGIN CERTIFICATE").count(),
        2,
        "leaf + intermediate"
    );
    // ... but not the IP SAN 127.0.0.1: the role has allow_ip_sans=false (pki.rs)
    let ip_key = dir.join("ip.key");
    let csr = openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        s(&ip_key),
        "-subj",
        "/O=wd",
        "-addext",
        &format!("subjectAltName=DNS:{POD0},IP:127.0.0.1"),
    ]);
    let body = serde_json::json!({"csr": csr, "alt_names": POD0, "ip_sans": "127.0.0.1", "exclude_cn_from_sans": "true"});
    let (code, refused) = http("POST", &plain.addr, SIGN, &token, Some(&body.to_string()));
    assert_eq!(
        code, 400,
        "an IP SAN must be refused by role wd-internal: {refused}"
    );
    assert!(
        refused["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("IP Subject Alternative Names are not allowed")),
        "{refused}"
    );

    let (crt, key) = (dir.join("tls.crt"), key_path(dir, &names));
    std::fs::write(&crt, &tls_crt).unwrap();
    drop(plain);

    // phase 2: the same storage, a TLS listener; the tools reach it as through a port-forward
    let tls = server_with_config(
        &bao(),
        dir,
        "tls",
        &raft_hcl(&data, "vault-0", port, cport, Some((&crt, &key))),
        &format!("https://127.0.0.1:{port}"),
    );
    let addr = tls.addr.clone();
    let init = |extra: &[&str]| {
        let mut args = vec!["init", "--node", &addr, "--keys-file", s(&keys)];
        args.extend(extra);
        run(&args, &[])
    };
    // refusals first, while it is sealed: nothing may reach it unverified
    let o = init(&[
        "--vault-cacert",
        s(&root_pem),
        "--vault-tls-server-name",
        "vault-9.example",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("certificate name mismatch") && stderr(&o).contains("vault-9.example"),
        "{}",
        stderr(&o)
    );
    let o = init(&["--vault-cacert", s(&root_pem)]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "127.0.0.1 is not in the certificate: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("certificate name mismatch") && stderr(&o).contains("127.0.0.1"),
        "{}",
        stderr(&o)
    );
    let stranger = self_signed_ca(dir, "stranger");
    let o = init(&[
        "--vault-cacert",
        s(&stranger),
        "--vault-tls-server-name",
        POD0,
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("unknown issuer"), "{}", stderr(&o));
    for garbage in [
        "vault_0!",
        "https://vault.vault.svc",
        "vault.vault.svc:8200",
        "127.0.0.1",
        "",
    ] {
        let o = init(&[
            "--vault-cacert",
            s(&root_pem),
            "--vault-tls-server-name",
            garbage,
        ]);
        assert_eq!(o.status.code(), Some(2), "{garbage:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("--vault-tls-server-name"),
            "{}",
            stderr(&o)
        );
        assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
    }
    assert_eq!(
        health(port, Some((&root_pem, POD0))),
        503,
        "still sealed after the refusals"
    );

    let o = init(&[
        "--vault-cacert",
        s(&root_pem),
        "--vault-tls-server-name",
        POD0,
    ]);
    let report = json_ok(&o);
    assert_eq!(report["nodes"][0]["action"], "unsealed", "{report}");
    assert_eq!(report["nodes"][0]["sealed"], false);
    wait_active(port, Some((&root_pem, POD0)));

    // later tool calls over TLS, as `up` makes them, configured the Vault CLI's way (VAULT_*):
    // wd-transit's keys and token, then the seed; vaultrs (policies, KV v2, transit) and the
    // direct calls (mounts, key reads) all go through the server name
    let env = [
        ("VAULT_ADDR", addr.as_str()),
        ("VAULT_TOKEN", token.as_str()),
        ("VAULT_CACERT", s(&root_pem)),
        ("VAULT_TLS_SERVER_NAME", POD0),
    ];
    let transit = Path::new(BIN).with_file_name("wd-transit");
    let transit_run = |args: &[&str]| {
        let mut c = clean_command(&transit);
        c.envs(env)
            .args(args)
            .args(["--format", "json"])
            .output()
            .unwrap()
    };
    json_ok(&transit_run(&["init"]));
    let url = "https://vault.vault.svc:8200/v1/transit";
    json_ok(&transit_run(&[
        "token",
        "issuer",
        "--plan",
        s(&plan),
        "--server",
        url,
    ]));
    let seeded = json_ok(&run(&["seed", "--plan", s(&plan)], &env));
    assert!(
        seeded["problems"].as_array().unwrap().is_empty(),
        "{seeded}"
    );
    let checked = json_ok(&run(
        &["check", "--plan", s(&plan), "--cluster", "off"],
        &env,
    ));
    assert!(
        checked["problems"].as_array().unwrap().is_empty(),
        "{checked}"
    );
    // another of the certificate's names works as well; a stranger's CA does not
    let mut other = env;
    other[3] = (
        "VAULT_TLS_SERVER_NAME",
        "vault-active.vault.svc.cluster.local",
    );
    json_ok(&run(
        &["check", "--plan", s(&plan), "--cluster", "off"],
        &other,
    ));
    other[2] = ("VAULT_CACERT", s(&stranger));
    let o = run(&["check", "--plan", s(&plan), "--cluster", "off"], &other);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    drop(tls);
}

// ------------------------------------------------------------- b. a raft join over https

#[test]
fn a_node_joins_an_https_leader_verifying_it_with_the_leader_ca_cert() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ca = self_signed_ca(dir, "wd-test-ca");
    let stranger = self_signed_ca(dir, "stranger");
    // The leader is addressed as https://127.0.0.1:P (vault-0.vault-internal.vault.svc does not
    // resolve here), so its certificate carries the IP SAN 127.0.0.1 besides the cluster names.
    let sans = format!("DNS:{POD0},DNS:vault-1.vault-internal.vault.svc,DNS:vault-2.vault-internal.vault.svc,IP:127.0.0.1");
    let (crt, key) = leaf(dir, &ca, "vault", &sans);
    let keys = dir.join("vault-init.json");
    let mut servers: Vec<Server> = Vec::new();
    for id in ["vault-0", "vault-1", "vault-2"] {
        let data = dir.join(id);
        std::fs::create_dir_all(&data).unwrap();
        let (port, cport) = (free_port(), free_port());
        servers.push(server_with_config(
            &bao(),
            dir,
            id,
            &raft_hcl(&data, id, port, cport, Some((&crt, &key))),
            &format!("https://127.0.0.1:{port}"),
        ));
    }
    let leader = servers[0].addr.clone();
    let (leader, one, two) = (
        leader.as_str(),
        servers[1].addr.as_str(),
        servers[2].addr.as_str(),
    );
    let init = |nodes: &[&str], extra: &[&str]| {
        let mut args = vec![
            "init",
            "--keys-file",
            s(&keys),
            "--key-shares",
            "1",
            "--key-threshold",
            "1",
        ];
        for n in nodes {
            args.extend(["--node", n]);
        }
        args.extend([
            "--leader-api-addr",
            leader,
            "--vault-tls-server-name",
            POD0,
            "--wait",
            "20",
        ]);
        args.extend(extra);
        run(&args, &[])
    };
    // vault-1 joins verifying the leader with the --vault-cacert file (the default)
    let o = init(&[leader, one], &["--vault-cacert", s(&ca)]);
    let report = json_ok(&o);
    assert_eq!(report["nodes"][1]["action"], "joined, unsealed", "{report}");
    assert_eq!(report["raftPeers"].as_array().unwrap().len(), 2, "{report}");

    // vault-2 with a stranger's CA as --leader-ca-cert: its join is refused, it stays out
    let o = init(
        &[leader, two],
        &["--vault-cacert", s(&ca), "--leader-ca-cert", s(&stranger)],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("join the raft cluster of") && stderr(&o).contains("--leader-ca-cert"),
        "{}",
        stderr(&o)
    );
    // a --leader-ca-cert that is no certificate: bad input before any node is asked
    let o = init(
        &[leader, two],
        &["--vault-cacert", s(&ca), "--leader-ca-cert", s(&key)],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--leader-ca-cert") && stderr(&o).contains("not a PEM certificate"),
        "{}",
        stderr(&o)
    );

    // ... and with the right one given explicitly it joins
    let o = init(
        &[leader, two],
        &["--vault-cacert", s(&ca), "--leader-ca-cert", s(&ca)],
    );
    let report = json_ok(&o);
    assert_eq!(report["nodes"][1]["action"], "joined, unsealed", "{report}");
    assert_eq!(report["raftPeers"].as_array().unwrap().len(), 3, "{report}");
}

// ------------------------------------------------------------- c. tls-reload.sh, for real

/// Kills the script when the test ends, however it ends.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Secret volume as kubelet writes it (AtomicWriter): the files in a timestamped directory,
/// `..data` pointing at it, `tls.crt`/`tls.key` pointing through `..data`. Each call writes a
/// new directory and swaps `..data` with one rename, then removes the old directory.
fn kubelet_write(vol: &Path, n: u32, crt: &Path, key: &Path) {
    let ts = format!("..2026_12_02_08_00_0{n}.{n}00000000");
    std::fs::create_dir_all(vol.join(&ts)).unwrap();
    std::fs::copy(crt, vol.join(&ts).join("tls.crt")).unwrap();
    std::fs::copy(key, vol.join(&ts).join("tls.key")).unwrap();
    let old = std::fs::read_link(vol.join("..data")).ok();
    std::os::unix::fs::symlink(&ts, vol.join("..data_tmp")).unwrap();
    std::fs::rename(vol.join("..data_tmp"), vol.join("..data")).unwrap();
    for f in ["tls.crt", "tls.key"] {
        if std::fs::symlink_metadata(vol.join(f)).is_err() {
            std::os::unix::fs::symlink(format!("..data/{f}"), vol.join(f)).unwrap();
        }
    }
    if let Some(old) = old {
        std::fs::remove_dir_all(vol.join(old)).unwrap();
    }
}

/// A directory whose only programs are busybox applets: what the alpine-based vault image offers.
fn busybox_bin(dir: &Path) -> PathBuf {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .expect("busybox is missing (.ci/run installs it): the reload script is tested with busybox applets only");
    let bin = dir.join("busybox-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for applet in [
        "sh",
        "sha256sum",
        "readlink",
        "sleep",
        "pidof",
        "kill",
        "date",
    ] {
        std::os::unix::fs::symlink(busybox, bin.join(applet)).unwrap();
    }
    bin
}

#[test]
fn the_reload_script_makes_vault_present_the_renewed_certificate() {
    let started = Instant::now();
    let script = repo_root().join("terraform/platform/vault/tls-reload.sh");
    let sc = Command::new("shellcheck")
        .args(["-s", "sh", s(&script)])
        .output()
        .expect("shellcheck (.ci/run installs it)");
    assert!(
        sc.status.success(),
        "shellcheck: {}",
        String::from_utf8_lossy(&sc.stdout)
    );

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // OpenBao under the process name `vault`, as the script finds Vault
    let link = dir.join("vault");
    std::os::unix::fs::symlink(bao(), &link).unwrap();
    let ca = self_signed_ca(dir, "wd-test-ca");
    let (old_crt, old_key) = leaf(dir, &ca, "old", &format!("DNS:{POD0}"));
    let (new_crt, new_key) = leaf(dir, &ca, "new", &format!("DNS:{POD0}"));
    let old_fp = fingerprint_of(&std::fs::read_to_string(&old_crt).unwrap());
    let new_fp = fingerprint_of(&std::fs::read_to_string(&new_crt).unwrap());
    assert_ne!(old_fp, new_fp);
    let vol = dir.join("tls");
    std::fs::create_dir_all(&vol).unwrap();
    kubelet_write(&vol, 1, &old_crt, &old_key);

    // OpenBao 2 has no file storage: one raft node (it serves TLS sealed and uninitialised)
    let data = dir.join("raft");
    std::fs::create_dir_all(&data).unwrap();
    let (port, cport) = (free_port(), free_port());
    let (crt, key) = (vol.join("tls.crt"), vol.join("tls.key"));
    let hcl = raft_hcl(&data, "vault-0", port, cport, Some((&crt, &key)));
    let _server = server_with_config(
        &link,
        dir,
        "reload",
        &hcl,
        &format!("https://127.0.0.1:{port}"),
    );
    assert_eq!(
        presented(port),
        old_fp,
        "before the renewal: the old certificate"
    );

    let log = dir.join("tls-reload.log");
    let bin = busybox_bin(dir);
    let child = Command::new(bin.join("sh"))
        .arg(&script)
        .env_clear()
        .env("PATH", &bin)
        .env("TLS_RELOAD_DIR", &vol)
        .env("TLS_RELOAD_INTERVAL", "1")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut script_run = Killed(child);
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !read_log().contains("watching") {
        assert!(
            Instant::now() < deadline,
            "tls-reload.sh did not start: {}",
            read_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // a transient gap (the files missing for a few checks) is waited out, not fatal
    std::fs::remove_file(vol.join("..data")).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        script_run.0.try_wait().unwrap().is_none(),
        "tls-reload.sh exited on a missing file: {}",
        read_log()
    );
    let ts = "..2026_12_02_08_00_01.100000000";
    std::os::unix::fs::symlink(ts, vol.join("..data")).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !read_log().contains("reloaded"),
        "same content, no reload: {}",
        read_log()
    );
    assert_eq!(presented(port), old_fp);

    // cert-manager renewed: kubelet swaps the volume; Vault presents the new certificate
    kubelet_write(&vol, 2, &new_crt, &new_key);
    let deadline = Instant::now() + Duration::from_secs(10);
    while presented(port) != new_fp {
        assert!(
            Instant::now() < deadline,
            "still the old certificate 10 s after the swap; log: {}",
            read_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let text = read_log();
    let reloads: Vec<&str> = text.lines().filter(|l| l.contains("reloaded")).collect();
    assert_eq!(reloads.len(), 1, "one line per reload: {text}");
    let crt_sha = sha256_hex(&std::fs::read(&new_crt).unwrap());
    assert!(
        reloads[0].contains(&crt_sha),
        "the line names the new certificate's sha256: {text}"
    );
    let key_text = std::fs::read_to_string(&new_key).unwrap();
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains(key_text.lines().nth(1).unwrap()),
        "{text}"
    );
    assert!(
        !text.contains(&sha256_hex(key_text.as_bytes())),
        "not even the key's hash: {text}"
    );
    assert!(
        script_run.0.try_wait().unwrap().is_none(),
        "it keeps watching"
    );
    drop(script_run);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

/// sha256 hex with the system's sha256sum (coreutils: independent of the busybox under test).
fn sha256_hex(bytes: &[u8]) -> String {
    let mut c = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(c.stdin.as_mut().unwrap(), bytes).unwrap();
    let o = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}
