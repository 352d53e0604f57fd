//! The end of `scripts/k8s-deploy.sh up` with the internal CA, on THREE real OpenBao raft nodes
//! (prod's `ha.replicas`): a plain cluster initialised, unsealed and joined by `wd-secrets init
//! --node ×3`, the internal CA (`policies --apply --pki`), ONE certificate for every name of
//! terraform/platform/pki.tf `vault_dns_names` from role wd-internal, stored as cert-manager stores
//! it; then all three stopped at once (`vault_restart` deletes every pod) and started on the same
//! storage with TLS listeners, and unsealed by the exact command of `vault_unseal` over https
//! through "port-forwards" (127.0.0.1) with VAULT_CACERT + VAULT_TLS_SERVER_NAME=vault.vault.svc.
//! The tools run right after it (`up` after a `vault restart` goes straight to `secrets`): after a
//! restart of every node raft's first election comes 16-18 s after the unseal, and until then
//! every write through a standby fails, so init returns only once a node is active.
//!
//! What differs from the cluster, and why: the pods' names do not resolve here, so every node
//! listens on 127.0.0.1:<port> and the retry_join stanzas (values/vault.yaml) address a peer as
//! https://127.0.0.1:<port> with `leader_tls_servername` = that pod's name of the certificate (the
//! name check prod gets from the URL's host). retry_join only serves a node that is not yet a
//! raft member; the restarted nodes are members and find each other over the cluster port, so the
//! name in `--leader-api-addr https://vault-0.vault-internal.vault.svc:8200` is never dialled
//! (init joins no initialised node). The servers are killed (SIGKILL), a harder stop than the
//! pods' SIGTERM.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use wd_testsupport::cli::{clean_command, json_ok};
use wd_testsupport::openbao::{bao, free_port, http, server_with_config, Server};
use wd_testsupport::pki::{cert_manager_secret, key_path, sign, vault_dns_names, SIGN};
use wd_testsupport::render_scenario;

const BIN: &str = env!("CARGO_BIN_EXE_wd-secrets");
const PODS: usize = 3;
/// k8s-deploy.sh `vault_tls_env`: the host of pki.tf `vault_service`.
const SERVER_NAME: &str = "vault.vault.svc";
/// k8s-deploy.sh `vault_unseal` with VAULT_TLS=on.
const LEADER: &str = "https://vault-0.vault-internal.vault.svc:8200";

fn pod_name(i: usize) -> String {
    format!("vault-{i}.vault-internal.vault.svc")
}

struct Node {
    id: String,
    port: u16,
    cport: u16,
}

/// values/vault.yaml's raft config for one node: storage, listener (TLS when `tls` holds the
/// cert and key files and the CA's root), one retry_join per pod.
fn hcl(dir: &Path, n: &Node, all: &[Node], tls: Option<(&Path, &Path, &Path)>) -> String {
    let mut joins = String::new();
    for (i, p) in all.iter().enumerate() {
        joins.push_str(&match tls {
            Some((_, _, ca)) => format!(
                "  retry_join {{\n    leader_api_addr = \"https://127.0.0.1:{}\"\n    leader_ca_cert_file = \"{}\"\n    leader_tls_servername = \"{}\"\n  }}\n",
                p.port,
                ca.display(),
                pod_name(i)
            ),
            None => format!(
                "  retry_join {{\n    leader_api_addr = \"http://127.0.0.1:{}\"\n  }}\n",
                p.port
            ),
        });
    }
    let (scheme, listener) = match tls {
        Some((crt, key, _)) => (
            "https",
            format!(
                "  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n  tls_min_version = \"tls12\"\n",
                crt.display(),
                key.display()
            ),
        ),
        None => ("http", "  tls_disable = 1\n".to_string()),
    };
    format!(
        "storage \"raft\" {{\n  path = \"{data}\"\n  node_id = \"{id}\"\n{joins}}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  cluster_address = \"127.0.0.1:{cport}\"\n{listener}}}\napi_addr = \"{scheme}://127.0.0.1:{port}\"\ncluster_addr = \"https://127.0.0.1:{cport}\"\ndisable_mlock = true\n",
        data = dir.join(&n.id).display(),
        id = n.id,
        port = n.port,
        cport = n.cport,
    )
}

fn start(
    dir: &Path,
    nodes: &[Node],
    phase: &str,
    tls: Option<(&Path, &Path, &Path)>,
) -> Vec<Server> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    nodes
        .iter()
        .map(|n| {
            server_with_config(
                &bao(),
                dir,
                &format!("{}-{phase}", n.id),
                &hcl(dir, n, nodes, tls),
                &format!("{scheme}://127.0.0.1:{}", n.port),
            )
        })
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// curl over https as a client behind a port-forward: verified against `ca` with the name
/// vault.vault.svc resolved to 127.0.0.1. Returns the status and the JSON body.
fn tls_call(ca: &Path, port: u16, path: &str, token: &str) -> (u16, Value) {
    let o = Command::new("curl")
        .args(["-s", "-m", "3", "-w", "\n%{http_code}", "--cacert", s(ca)])
        .args(["--resolve", &format!("{SERVER_NAME}:{port}:127.0.0.1")])
        .args(["-H", &format!("X-Vault-Token: {token}")])
        .arg(format!("https://{SERVER_NAME}:{port}/v1/{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// sys/health of every node (200 active, 429 standby, 503 sealed, 501 not initialised).
fn health(ca: &Path, nodes: &[Node]) -> Vec<u16> {
    nodes
        .iter()
        .map(|n| tls_call(ca, n.port, "sys/health", "").0)
        .collect()
}

#[test]
fn three_raft_nodes_restarted_on_the_internal_cas_certificate_are_unsealed_by_vault_unseal() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let nodes: Vec<Node> = (0..PODS)
        .map(|i| Node {
            id: format!("vault-{i}"),
            port: free_port(),
            cport: free_port(),
        })
        .collect();
    for n in &nodes {
        std::fs::create_dir_all(dir.join(&n.id)).unwrap();
    }
    let keys = dir.join("vault-init.json");
    let root_pem = dir.join("pki/internal-ca.pem");
    let render = dir.join("render");
    render_scenario(Path::new(BIN), "waltid", &render);
    let plan = render.join("secrets/secret-plan.json");
    // k8s-deploy.sh rendered_domain: the domain of the rendered values
    let values = std::fs::read_to_string(render.join("helm/values-waltid.yaml")).unwrap();
    let domain = values
        .lines()
        .find_map(|l| l.strip_prefix("  domain: "))
        .map(|d| d.trim_matches('"').to_string())
        .expect("domain in values-waltid.yaml");

    // ---- phase 1: plain listeners; `vault_unseal` with VAULT_TLS=off (default 5 shares, 3 needed)
    let plain = start(dir, &nodes, "plain", None);
    let plain_nodes: Vec<String> = plain.iter().map(|p| p.addr.clone()).collect();
    let mut args = vec!["init"];
    for a in &plain_nodes {
        args.extend(["--node", a.as_str()]);
    }
    args.extend([
        "--keys-file",
        s(&keys),
        "--leader-api-addr",
        &plain_nodes[0],
    ]);
    let o = clean_command(BIN)
        .args(&args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = json_ok(&o);
    assert_eq!(
        report["raftPeers"].as_array().map(Vec::len),
        Some(PODS),
        "{report}"
    );
    let token = serde_json::from_str::<Value>(&std::fs::read_to_string(&keys).unwrap()).unwrap()
        ["root_token"]
        .as_str()
        .unwrap()
        .to_string();
    let phase1 = started.elapsed();

    // `secrets`: policies with the internal CA, as pki_flags passes it. --enable-k8s-auth also
    // configures the method, which OpenBao refuses outside a pod (it reads the service account's
    // ca.crt): the mount is enabled here instead, so the roles (cert-manager's too) are written.
    let leader = &plain_nodes[0];
    let (code, out) = http(
        "POST",
        leader,
        "sys/auth/kubernetes",
        &token,
        Some(r#"{"type":"kubernetes"}"#),
    );
    assert_eq!(code, 204, "enable auth/kubernetes: {out}");
    // `wd-secrets policies --apply` as k8s-deploy.sh's secrets step runs it with the internal CA,
    // against the node at `addr` with the extra environment `env` (the TLS settings)
    let policies_pki = |addr: &str, env: &[(&str, &str)]| {
        clean_command(BIN)
            .envs(env.iter().copied())
            .envs([("VAULT_ADDR", addr), ("VAULT_TOKEN", token.as_str())])
            .args(["policies", "--plan", s(&plan), "--apply"])
            .args(["--pki", "--pki-domain", &domain])
            .args(["--pki-cluster-issuer", "vault-internal"])
            .args(["--pki-ca-out", s(&root_pem), "-q"])
            .output()
            .unwrap()
    };
    let o = policies_pki(leader, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "policies --apply --pki: {}",
        stderr(&o)
    );
    // a secret written before the restart (KV v2 at secret/, as the seed writes it)
    let kv = r#"{"type":"kv","options":{"version":"2"}}"#;
    let (code, _) = http("POST", leader, "sys/mounts/secret", &token, Some(kv));
    assert!(code == 204 || code == 400, "enable secret/: {code}");
    let value = format!("written-before-the-restart-{}", std::process::id());
    let body = serde_json::json!({"data": {"probe": value}}).to_string();
    let (code, out) = http("POST", leader, "secret/data/h29/probe", &token, Some(&body));
    assert_eq!(code, 200, "{out}");

    // `vault certificate`: cert-manager's request for every name, signed by role wd-internal
    let names = vault_dns_names(PODS);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (code, signed) = sign(leader, &token, SIGN, dir, &names);
    assert_eq!(
        code, 200,
        "role wd-internal must sign pki.tf's names: {signed}"
    );
    let (tls_crt, ca_crt) = cert_manager_secret(&signed);
    assert_eq!(
        ca_crt.trim(),
        std::fs::read_to_string(&root_pem).unwrap().trim()
    );
    let (crt, key) = (dir.join("tls.crt"), key_path(dir, &names));
    std::fs::write(&crt, &tls_crt).unwrap();
    let ca = dir.join("ca.crt");
    std::fs::write(&ca, &ca_crt).unwrap();

    // Joined nodes start as non-voters; autopilot promotes them once stable (OpenBao's default
    // server_stabilization_time, 10 s). In `up` the certificate step alone takes longer than that;
    // here the restart waits for it, or vault-0 would be the only voter and come back alone.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, cfg) = http(
            "GET",
            leader,
            "sys/storage/raft/configuration",
            &token,
            None,
        );
        let servers = cfg["data"]["config"]["servers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if servers.len() == PODS && servers.iter().all(|s| s["voter"] == true) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the joined nodes are not voters 30 s after the join: {cfg}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let voters = started.elapsed();

    // ---- `vault_restart`: every pod at once, back on the same storage with TLS, sealed
    drop(plain);
    let restart = Instant::now();
    let tls = start(dir, &nodes, "tls", Some((&crt, &key, &ca)));
    assert_eq!(health(&root_pem, &nodes), [503; PODS], "sealed over https");

    // the exact command of vault_unseal (VAULT_TLS=on), through the "port-forwards"
    let env = [
        ("VAULT_CACERT", s(&root_pem)),
        ("VAULT_TLS_SERVER_NAME", SERVER_NAME),
    ];
    let tls_nodes: Vec<String> = tls.iter().map(|t| t.addr.clone()).collect();
    let init = |extra: &[&str]| {
        let mut args = vec!["init"];
        for a in &tls_nodes {
            args.extend(["--node", a.as_str()]);
        }
        args.extend(["--keys-file", s(&keys), "--leader-api-addr", LEADER, "-q"]);
        args.extend(extra);
        clean_command(BIN).envs(env).args(&args).output().unwrap()
    };
    // (`--format json` added to read its report; k8s-deploy.sh sends stdout to /dev/null)
    let o = init(&["--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "vault_unseal after the restart: {}",
        stderr(&o)
    );
    let unsealed = restart.elapsed();
    let first = json_ok(&o);
    let actions: Vec<&str> = first["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["unsealed"; PODS], "{first}");
    assert_eq!(
        first["raftPeers"].as_array().map(Vec::len),
        Some(PODS),
        "{first}"
    );

    // the next step of `up` (k8s-deploy.sh: `vault restart` then `secrets`, whose vault_unseal is
    // then a no-op): the tools at once, over https through vault-0's "port-forward"
    let o = policies_pki(&tls_nodes[0], &env);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the tools right after vault_unseal: {}",
        stderr(&o)
    );
    let tools_ok = restart.elapsed();

    // all three unsealed; raft elects one active node (bounded wait), the others stand by
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut h = health(&root_pem, &nodes);
    while {
        let mut sorted = h.clone();
        sorted.sort();
        sorted != [200, 429, 429]
    } {
        assert!(
            Instant::now() < deadline,
            "no single active node 20 s after unseal: sys/health {h:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
        h = health(&root_pem, &nodes);
    }
    let elected = restart.elapsed();
    for n in &nodes {
        let (_, st) = tls_call(&root_pem, n.port, "sys/seal-status", "");
        assert_eq!(st["sealed"], false, "{}: {st}", n.id);
    }
    let (code, cfg) = tls_call(
        &root_pem,
        nodes[0].port,
        "sys/storage/raft/configuration",
        &token,
    );
    assert_eq!(code, 200, "{cfg}");
    let servers = cfg["data"]["config"]["servers"].as_array().unwrap();
    assert_eq!(servers.len(), PODS, "{cfg}");
    assert!(servers.iter().all(|s| s["voter"] == true), "{cfg}");
    assert_eq!(
        servers.iter().filter(|s| s["leader"] == true).count(),
        1,
        "{cfg}"
    );

    // the secret of before, over https through node 0 and through a standby
    let standby = (1..PODS).find(|&i| h[i] == 429).unwrap();
    for i in [0, standby] {
        let (code, got) = tls_call(&root_pem, nodes[i].port, "secret/data/h29/probe", &token);
        assert_eq!(code, 200, "read through vault-{i}: {got}");
        assert_eq!(
            got["data"]["data"]["probe"],
            value.as_str(),
            "through vault-{i}"
        );
    }

    // vault_unseal again (a re-run of `up`): a no-op
    let o = init(&["--format", "json"]);
    let again = json_ok(&o);
    let actions: Vec<&str> = again["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["already unsealed"; PODS], "{again}");
    assert_eq!(again["initializedNow"], false, "{again}");
    assert_eq!(
        again["raftPeers"].as_array().map(Vec::len),
        Some(PODS),
        "{again}"
    );
    drop(tls);
    let total = started.elapsed();
    eprintln!(
        "vault_tls_raft3: plain init+join {phase1:?}, 3 voters {voters:?}; restart→init exit 0 {unsealed:?}, →policies done {tools_ok:?}, →one active (200/429/429) {elected:?}; total {total:?}"
    );
    assert!(total < Duration::from_secs(90), "{total:?}");
}
