//! Seal state, initialisation, unsealing, raft joins, policies, Kubernetes auth roles.

use crate::{map_err, Vault};
use std::time::Duration;

/// How long `sys/init` may take: raft's first election waits out its heartbeat timeout (5 s,
/// randomised up to twice that) before the node can initialise, plus a margin for a busy node.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(60);
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wd_core::{WdError, WdResult};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SealStatus {
    pub initialized: bool,
    pub sealed: bool,
    /// Unseal keys needed (threshold) and given so far.
    pub t: u32,
    pub progress: u32,
    pub version: String,
}

/// Root token and unseal keys from `sys/init` (secret material: never printed by default).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InitKeys {
    pub keys_base64: Vec<String>,
    pub root_token: String,
    pub threshold: u32,
}

impl Vault {
    /// `sys/seal-status` (direct: OpenBao's answer lacks fields vaultrs requires).
    pub fn seal_status(&self) -> WdResult<SealStatus> {
        let v = self.raw_ok(Method::GET, "sys/seal-status", None, "read the seal status")?;
        Ok(SealStatus {
            initialized: v["initialized"].as_bool().unwrap_or(false),
            sealed: v["sealed"].as_bool().unwrap_or(true),
            t: v["t"].as_u64().unwrap_or(0) as u32,
            progress: v["progress"].as_u64().unwrap_or(0) as u32,
            version: v["version"].as_str().unwrap_or("").to_string(),
        })
    }

    /// The API address of the active node as this node knows it (`sys/leader` leader_address,
    /// unauthenticated); empty while it knows none. A standby learns a new leader some time after
    /// the election and forwards requests to the one it knows until then.
    pub fn leader_address(&self) -> WdResult<String> {
        let (_, v) = self.raw(Method::GET, "sys/leader", None)?;
        Ok(v["leader_address"].as_str().unwrap_or("").to_string())
    }

    /// Whether this node is initialised, unsealed and the active one (`sys/health` answers 200;
    /// a standby 429, sealed 503, uninitialised 501).
    pub fn is_active(&self) -> WdResult<bool> {
        Ok(self.raw(Method::GET, "sys/health", None)?.0 == 200)
    }

    /// Initialises the server (direct, with [`INIT_TIMEOUT`]: on raft storage `sys/init` answers
    /// only once the node has elected itself, which waits out raft's heartbeat timeout first —
    /// 9.3 s measured here with OpenBao 2.7.2, beyond the 10 s of every other call under load).
    pub fn initialize(&self, shares: u64, threshold: u64) -> WdResult<InitKeys> {
        let body = json!({"secret_shares": shares, "secret_threshold": threshold});
        let (status, v) = self.raw_timeout(Method::PUT, "sys/init", Some(&body), INIT_TIMEOUT)?;
        if !(200..300).contains(&status) {
            return Err(self.status_error("initialise Vault", status, &v));
        }
        let keys_base64: Vec<String> = v["keys_base64"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let root_token = v["root_token"].as_str().unwrap_or_default().to_string();
        if keys_base64.is_empty() || root_token.is_empty() {
            return Err(WdError::unreachable(format!(
                "initialise Vault: the answer of {} has no keys_base64/root_token",
                self.addr
            )));
        }
        Ok(InitKeys {
            keys_base64,
            root_token,
            threshold: threshold as u32,
        })
    }

    /// Gives one unseal key (direct: same response shape as seal-status).
    pub fn unseal_with(&self, key: &str) -> WdResult<SealStatus> {
        self.raw_ok(
            Method::PUT,
            "sys/unseal",
            Some(&json!({"key": key})),
            "unseal",
        )?;
        self.seal_status()
    }

    /// Joins this node to the raft cluster of `leader` (direct: not in vaultrs). `leader_ca_cert`
    /// (PEM) is the CA this node verifies an https leader's certificate with (`leader_ca_cert` of
    /// `sys/storage/raft/join`).
    pub fn raft_join(&self, leader: &str, leader_ca_cert: Option<&str>) -> WdResult<()> {
        let mut body = json!({"leader_api_addr": leader});
        if let Some(ca) = leader_ca_cert {
            body["leader_ca_cert"] = json!(ca);
        }
        let (status, v) = self.raw(Method::POST, "sys/storage/raft/join", Some(&body))?;
        if !(200..300).contains(&status) {
            // Vault's answer ("failed to get raft challenge") does not say why: the usual causes
            let e = self.status_error(&format!("join the raft cluster of {leader}"), status, &v);
            let hint = if leader.starts_with("https://") {
                "the node must reach it and trust its certificate for that name (--leader-ca-cert)"
            } else {
                "the node must reach it"
            };
            return Err(WdError::unreachable(format!("{}; {hint}", e.message)));
        }
        if v["joined"].as_bool() == Some(false) {
            return Err(WdError::unreachable(format!("{}: the raft join to {leader} was not accepted; check that the leader is unsealed and reachable", self.addr)));
        }
        Ok(())
    }

    /// Raft peers (node ids and addresses), read with the root token.
    pub fn raft_peers(&self) -> WdResult<Vec<(String, String)>> {
        let v = self.raw_ok(
            Method::GET,
            "sys/storage/raft/configuration",
            None,
            "read the raft configuration",
        )?;
        Ok(v["data"]["config"]["servers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        (
                            s["node_id"].as_str().unwrap_or("").to_string(),
                            s["address"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Writes an ACL policy.
    pub fn set_policy(&self, name: &str, hcl: &str) -> WdResult<()> {
        self.block(vaultrs::sys::policy::set(&self.client, name, hcl))
            .map_err(|e| map_err(&self.addr, &format!("write policy {name}"), e))
    }

    /// Whether an auth method is mounted at `mount`.
    pub fn auth_enabled(&self, mount: &str) -> WdResult<bool> {
        let list = self
            .block(vaultrs::sys::auth::list(&self.client))
            .map_err(|e| map_err(&self.addr, "list auth methods", e))?;
        Ok(list.contains_key(&format!("{mount}/")))
    }

    /// Enables the Kubernetes auth method at `mount` when absent (true when it did) and points it
    /// at the cluster's API server. With Vault running in the cluster, it reviews tokens with its
    /// own service account and CA, so only the host is needed.
    pub fn enable_k8s_auth(&self, mount: &str, kubernetes_host: &str) -> WdResult<bool> {
        let created = if self.auth_enabled(mount)? {
            false
        } else {
            self.raw_ok(
                Method::POST,
                &format!("sys/auth/{mount}"),
                Some(&json!({"type": "kubernetes"})),
                &format!("enable Kubernetes auth at {mount}/"),
            )?;
            true
        };
        self.raw_ok(
            Method::POST,
            &format!("auth/{mount}/config"),
            Some(&json!({"kubernetes_host": kubernetes_host})),
            &format!("configure Kubernetes auth at {mount}/"),
        )?;
        Ok(created)
    }

    /// Creates or updates a Kubernetes auth role bound to service accounts.
    pub fn set_k8s_role(
        &self,
        mount: &str,
        role: &str,
        sa_names: &[String],
        sa_namespaces: &[String],
        policies: &[String],
    ) -> WdResult<()> {
        let body = json!({
            "bound_service_account_names": sa_names,
            "bound_service_account_namespaces": sa_namespaces,
            "token_policies": policies,
            "token_ttl": "1h",
        });
        self.raw_ok(
            Method::POST,
            &format!("auth/{mount}/role/{role}"),
            Some(&body),
            &format!("write Kubernetes auth role {role}"),
        )?;
        Ok(())
    }
}
