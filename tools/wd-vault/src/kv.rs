//! KV version 2: read with version, write with check-and-set, mount setup.

use crate::{map_err, Vault};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use vaultrs::api::kv2::requests::SetSecretRequestOptions;
use vaultrs::error::ClientError;
use wd_core::WdResult;

/// A secret's keys and the version they were read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvSecret {
    pub data: BTreeMap<String, String>,
    pub version: u64,
}

/// A check-and-set write lost against another writer (or the path exists when cas=0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasMismatch;

fn strings(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, x)| {
                    (
                        k.clone(),
                        x.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Vault {
    /// Enables a KV v2 mount when `mount` does not exist; returns whether it did. An existing
    /// mount of another kind or version is an error naming the fix.
    ///
    /// Two first-time runs race to enable it: the loser's `sys/mounts` call is refused (400, "path
    /// is already in use"). That is judged by the state, not the text: when the mount exists as
    /// KV v2 after a refused enable, another writer made it and this run goes on.
    pub fn ensure_kv2(&self, mount: &str) -> WdResult<bool> {
        if self.existing_kv2(mount)? {
            return Ok(false);
        }
        let (status, body) = self.raw(
            Method::POST,
            &format!("sys/mounts/{mount}"),
            Some(&json!({"type": "kv", "options": {"version": "2"}})),
        )?;
        if (200..300).contains(&status) {
            return Ok(true);
        }
        if status == 400 && self.existing_kv2(mount)? {
            return Ok(false);
        }
        Err(self.status_error(&format!("enable KV v2 at {mount}/"), status, &body))
    }

    /// Whether `mount/` exists as KV v2; another kind or version is an error naming the fix.
    fn existing_kv2(&self, mount: &str) -> WdResult<bool> {
        let Some(m) = self.mount(mount)? else {
            return Ok(false);
        };
        let version = m
            .options
            .as_ref()
            .and_then(|o| o.get("version"))
            .map(String::as_str)
            .unwrap_or("1");
        if m.mount_type != "kv" || version != "2" {
            return Err(wd_core::WdError::unreachable(format!(
                "Vault mount {mount}/ is {} (version {version}), not KV version 2; pick another kvMount in values (vault.kvMount)",
                m.mount_type
            )));
        }
        Ok(true)
    }

    /// Reads the latest version of a secret: None when the path never existed; empty data with
    /// the version number when the latest version is deleted (a check-and-set write must name
    /// that version). One direct call returns data and version together.
    /// A mount that is still upgrading (see [`crate::is_kv_upgrading`]) is waited for.
    pub fn kv_read(&self, mount: &str, path: &str) -> WdResult<Option<KvSecret>> {
        let mut waits = crate::backoff();
        let (status, v) = loop {
            let (status, v) = self.raw(Method::GET, &format!("{mount}/data/{path}"), None)?;
            match waits.next() {
                Some(d) if crate::is_kv_upgrading(status, &crate::errors_of(&v)) => {
                    std::thread::sleep(d)
                }
                _ => break (status, v),
            }
        };
        let version = v["data"]["metadata"]["version"].as_u64();
        match status {
            200 | 404 if version.is_some() => Ok(Some(KvSecret {
                data: strings(&v["data"]["data"]),
                version: version.unwrap_or(0),
            })),
            404 => Ok(None),
            _ => Err(self.status_error(&format!("read {mount}/{path}"), status, &v)),
        }
    }

    /// Reads one version of a secret.
    pub fn kv_read_version(
        &self,
        mount: &str,
        path: &str,
        version: u64,
    ) -> WdResult<Option<BTreeMap<String, String>>> {
        match self.block(vaultrs::kv2::read_version::<Value>(
            &self.client,
            mount,
            path,
            version,
        )) {
            Ok(v) => Ok(Some(strings(&v))),
            Err(e) if crate::is_not_found(&e) => Ok(None),
            Err(e) => Err(map_err(
                &self.addr,
                &format!("read {mount}/{path} version {version}"),
                e,
            )),
        }
    }

    /// Writes a whole secret with check-and-set: `cas = 0` only creates, `cas = n` only replaces
    /// version n. Returns the new version, or CasMismatch when another write came first.
    pub fn kv_write(
        &self,
        mount: &str,
        path: &str,
        data: &BTreeMap<String, String>,
        cas: u64,
    ) -> WdResult<Result<u64, CasMismatch>> {
        let mut waits = crate::backoff();
        let result = loop {
            let opts = SetSecretRequestOptions { cas: cas as u32 };
            let r = self.block(vaultrs::kv2::set_with_options(
                &self.client,
                mount,
                path,
                data,
                opts,
            ));
            match (&r, waits.next()) {
                (Err(ClientError::APIError { code, errors }), Some(d))
                    if crate::is_kv_upgrading(*code, errors) =>
                {
                    std::thread::sleep(d)
                }
                _ => break r,
            }
        };
        match result {
            Ok(meta) => Ok(Ok(meta.version)),
            Err(ClientError::APIError { code: 400, errors })
                if errors.iter().any(|e| e.contains("check-and-set")) =>
            {
                Ok(Err(CasMismatch))
            }
            Err(e) => Err(map_err(&self.addr, &format!("write {mount}/{path}"), e)),
        }
    }
}
