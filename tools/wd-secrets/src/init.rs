//! `init`: initialise the first node of a raft cluster, unseal every node, join the others.
//! The unseal keys and root token go to a file with mode 0600 outside the repository (default
//! ~/.config/wd/vault-init.json), to a Kubernetes Secret only when asked, and to stdout only
//! with --show-secrets. On an initialised cluster it only unseals (with the keys file).
//! Over TLS every --node is verified with --vault-cacert and, through a port-forward,
//! --vault-tls-server-name; a joining node verifies an https leader with --leader-ca-cert (default:
//! the --vault-cacert file).

use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wd_core::docs::vault::{VaultCluster, VaultNode};
use wd_core::{WdError, WdResult};
use wd_vault::sys::InitKeys;
use wd_vault::{Vault, VaultArgs};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Raft nodes, leader first (default: the one of VAULT_ADDR / --vault-addr).
    #[arg(long = "node", value_name = "URL")]
    pub nodes: Vec<String>,
    #[arg(long, default_value_t = 5)]
    pub key_shares: u64,
    #[arg(long, default_value_t = 3)]
    pub key_threshold: u64,
    /// Where the unseal keys and root token are written (mode 0600) and read back.
    #[arg(long, value_name = "FILE")]
    pub keys_file: Option<PathBuf>,
    /// Also store them in this Kubernetes Secret (kubectl, --secret-namespace).
    #[arg(long, value_name = "NAME")]
    pub to_k8s_secret: Option<String>,
    #[arg(long, default_value = "vault")]
    pub secret_namespace: String,
    /// Print the unseal keys and root token in the report.
    #[arg(long)]
    pub show_secrets: bool,
    /// The leader's API address as the other nodes reach it (in a cluster:
    /// http://vault-0.vault-internal:8200); default: the first --node.
    #[arg(long, value_name = "URL")]
    pub leader_api_addr: Option<String>,
    /// PEM CA with which the joining nodes verify an https leader's certificate (sent as
    /// `leader_ca_cert` of sys/storage/raft/join). Default for an https --leader-api-addr: the
    /// --vault-cacert file; unused for an http leader.
    #[arg(long, value_name = "FILE")]
    pub leader_ca_cert: Option<PathBuf>,
    /// Seconds to wait for a joined node to unseal, and after an unseal of every node for the
    /// active one.
    #[arg(long, default_value_t = 60)]
    pub wait: u64,
    #[command(flatten)]
    pub vault: VaultArgs,
}

fn default_keys_file() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("wd").join("vault-init.json")
}

fn node_args(base: &VaultArgs, addr: &str, token: Option<&str>) -> VaultArgs {
    VaultArgs {
        addr: addr.to_string(),
        token: token.map(str::to_string),
        k8s_role: None,
        ..base.clone()
    }
}

/// The PEM the joining nodes verify an https leader with: --leader-ca-cert, else the
/// --vault-cacert file (the CA the tool itself trusts for the nodes), else none (a node then
/// trusts its system roots). Read and checked before any node is asked (bad file: exit 2).
fn leader_ca_cert(a: &InitArgs, leader: &str) -> WdResult<Option<String>> {
    let want = "the PEM CA of the leader's certificate";
    if let Some(f) = &a.leader_ca_cert {
        let pem = wd_vault::read_pem_certs(f, "--leader-ca-cert", want)?;
        return Ok(leader.starts_with("https://").then_some(pem));
    }
    match &a.vault.cacert {
        Some(f) if leader.starts_with("https://") => {
            wd_vault::read_pem_certs(f, "--vault-cacert/VAULT_CACERT", want).map(Some)
        }
        _ => Ok(None),
    }
}

fn write_keys(path: &Path, keys: &InitKeys) -> WdResult<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| WdError::input(format!("{}: cannot create ({e})", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    let text = serde_json::to_string_pretty(keys).expect("keys serialise");
    wd_core::fsio::write_atomic(path, text.as_bytes(), 0o600)
}

fn read_keys(path: &Path) -> WdResult<InitKeys> {
    let text = std::fs::read_to_string(path).map_err(|_| {
        WdError::input(format!("{}: Vault is initialised but this keys file is missing; pass --keys-file with the file `wd-secrets init` wrote", path.display()))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        WdError::input(format!(
            "{}: not a keys file of wd-secrets init ({e})",
            path.display()
        ))
    })
}

fn unseal(v: &Vault, keys: &InitKeys) -> WdResult<bool> {
    let mut st = v.seal_status()?;
    if !st.sealed {
        return Ok(false);
    }
    for k in keys.keys_base64.iter().take(keys.threshold.max(1) as usize) {
        st = v.unseal_with(k)?;
        if !st.sealed {
            break;
        }
    }
    if st.sealed {
        return Err(WdError::unreachable(format!(
            "{}: still sealed after {} keys; check the keys file belongs to this cluster",
            v.addr, keys.threshold
        )));
    }
    Ok(true)
}

/// Waits (at most `secs`) until one of `nodes` is the active one (`sys/health` 200); when none
/// becomes active the error is `stuck` (exit 3). Before a join: a leader just unsealed answers
/// the join's challenge only once raft has elected it. After a restart of every raft node: all
/// of them stand by, unsealed, until raft's first election (16-18 s after the unseal with 3
/// OpenBao 2.7.2 nodes, tests/vault_tls_raft3.rs); meanwhile a standby serves some reads itself
/// (OpenBao's read-enabled standby) but forwards every write to the active node of before the
/// restart (`sys/leader` still names it), which fails: the tools that run after init (policies,
/// seed, transit) would.
fn wait_active(nodes: &[&Vault], secs: u64, stuck: impl Fn() -> String) -> WdResult<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        for v in nodes {
            if v.is_active()? {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(WdError::unreachable(stuck()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits (at most `secs`) until every node names the same leader as the active one does: a
/// standby learns the election's result some time after it (it re-reads the leader
/// periodically), and until then forwards the tools' writes to the active node of before, which
/// fails (tests/vault_tls_raft3.rs: the policies right after init failed once in six runs
/// without this wait; instrumented, one run in two saw the standbys name no leader for one more
/// round after the active node answered).
fn wait_leader_known(nodes: &[Vault], secs: u64) -> WdResult<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let mut active = String::new();
        for v in nodes {
            if v.is_active()? {
                active = v.leader_address()?;
            }
        }
        let mut known = Vec::with_capacity(nodes.len());
        for v in nodes {
            known.push(v.leader_address()?);
        }
        if !active.is_empty() && known.iter().all(|l| *l == active) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(WdError::unreachable(format!(
                "the active node is {}, but the nodes name {known:?} as their leader after {secs}s; check the nodes' logs (api_addr)",
                if active.is_empty() { "unknown" } else { &active }
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn run(a: &InitArgs) -> WdResult<VaultCluster> {
    if a.key_threshold == 0 || a.key_threshold > a.key_shares {
        return Err(WdError::input(format!(
            "--key-threshold {} must be between 1 and --key-shares {}",
            a.key_threshold, a.key_shares
        )));
    }
    let nodes: Vec<String> = if a.nodes.is_empty() {
        vec![a.vault.addr.clone()]
    } else {
        a.nodes.clone()
    };
    let leader_addr = a.leader_api_addr.as_deref().unwrap_or(&nodes[0]);
    let leader_ca = leader_ca_cert(a, leader_addr)?;
    let keys_file = a.keys_file.clone().unwrap_or_else(default_keys_file);
    let leader = Vault::connect_with(&node_args(&a.vault, &nodes[0], None), false)?;
    let st = leader.seal_status()?;
    let mut report = VaultCluster::default();
    let keys = if st.initialized {
        read_keys(&keys_file)?
    } else {
        if keys_file.exists() {
            return Err(WdError::input(format!(
                "{}: a keys file exists but {} is not initialised; move the old file away first",
                keys_file.display(),
                nodes[0]
            )));
        }
        let keys = leader.initialize(a.key_shares, a.key_threshold)?;
        write_keys(&keys_file, &keys)?;
        report.initialized_now = true;
        keys
    };
    report
        .keys_stored_in
        .push(format!("{} (mode 0600)", keys_file.display()));
    let action = if unseal(&leader, &keys)? {
        if report.initialized_now {
            "initialized, unsealed"
        } else {
            "unsealed"
        }
    } else {
        "already unsealed"
    };
    let s = leader.seal_status()?;
    report.nodes.push(VaultNode {
        addr: nodes[0].clone(),
        initialized: s.initialized,
        sealed: s.sealed,
        version: s.version,
        action: action.into(),
    });

    let mut leader_active = false;
    for addr in &nodes[1..] {
        let v = Vault::connect_with(&node_args(&a.vault, addr, None), false)?;
        let mut st = v.seal_status()?;
        let mut action = String::new();
        if !st.initialized {
            // A leader just unsealed answers the join's challenge only once raft has elected it
            // (a moment; longer on a busy machine). Only before a join: after a restart a lone
            // unsealed node of a cluster cannot be elected until a quorum is unsealed.
            if !leader_active {
                wait_active(&[&leader], a.wait, || {
                    format!(
                        "{}: unsealed but not active after {}s, so no node can join it; check its log (raft election)",
                        nodes[0], a.wait
                    )
                })?;
                leader_active = true;
            }
            v.raft_join(leader_addr, leader_ca.as_deref())?;
            action.push_str("joined, ");
        }
        // A joined node becomes initialised once it has the unseal keys and has synced.
        let was_sealed = st.sealed;
        let deadline = Instant::now() + Duration::from_secs(a.wait);
        loop {
            if st.sealed {
                for k in keys.keys_base64.iter().take(keys.threshold as usize) {
                    st = v.unseal_with(k)?;
                    if !st.sealed {
                        break;
                    }
                }
            }
            if !st.sealed {
                break;
            }
            if Instant::now() > deadline {
                return Err(WdError::unreachable(format!("{addr}: still sealed after {}s; check that it reaches the leader {} on its cluster port", a.wait, nodes[0])));
            }
            std::thread::sleep(Duration::from_millis(500));
            st = v.seal_status()?;
        }
        // a re-run on an unsealed cluster changes nothing and says so, as for the first node
        action.push_str(if was_sealed {
            "unsealed"
        } else {
            "already unsealed"
        });
        report.nodes.push(VaultNode {
            addr: addr.clone(),
            initialized: st.initialized,
            sealed: st.sealed,
            version: st.version,
            action,
        });
    }
    let root = Vault::connect_with(
        &node_args(&a.vault, &nodes[0], Some(&keys.root_token)),
        true,
    )?;
    // Exit 0 means Vault serves: when this run unsealed a node and was given every raft peer
    // (as k8s-deploy.sh vault_unseal), it waits for the active one. Fewer nodes (one pod unsealed
    // by hand): the active node may be one not given, so no wait.
    let peers = root.raft_peers().unwrap_or_default();
    if report.nodes.iter().any(|n| n.action != "already unsealed") && nodes.len() >= peers.len() {
        let all = nodes
            .iter()
            .map(|n| Vault::connect_with(&node_args(&a.vault, n, None), false))
            .collect::<WdResult<Vec<_>>>()?;
        wait_active(&all.iter().collect::<Vec<_>>(), a.wait, || {
            format!(
                "every node is unsealed, but none is active after {}s; check the nodes' logs (raft election)",
                a.wait
            )
        })?;
        wait_leader_known(&all, a.wait)?;
    }
    // read again: before the election a standby may not answer it
    report.raft_peers = root
        .raft_peers()
        .unwrap_or_default()
        .into_iter()
        .map(|(id, addr)| format!("{id} {addr}"))
        .collect();
    if let Some(name) = &a.to_k8s_secret {
        // The keys go to kubectl through a file, never through its arguments.
        let out = std::process::Command::new("kubectl")
            .args([
                "-n",
                &a.secret_namespace,
                "create",
                "secret",
                "generic",
                name,
            ])
            .arg(format!(
                "--from-file=vault-init.json={}",
                keys_file.display()
            ))
            .output()
            .map_err(|e| {
                WdError::unreachable(format!(
                    "kubectl cannot run ({e}); the keys stay in {}",
                    keys_file.display()
                ))
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(WdError::unreachable(format!(
                "kubectl create secret {name}: {}; the keys stay in {}",
                err.lines().next().unwrap_or("failed"),
                keys_file.display()
            )));
        }
        report
            .keys_stored_in
            .push(format!("Kubernetes Secret {}/{name}", a.secret_namespace));
    }
    if a.show_secrets {
        report.secrets =
            Some(json!({"unsealKeysBase64": keys.keys_base64, "rootToken": keys.root_token}));
    }
    Ok(report)
}
