//! Transit: keys for signing (issuer, wallet), rotation, signatures.

use crate::{map_err, Vault};
use reqwest::Method;
use serde_json::json;
use vaultrs::api::transit::requests::{
    CreateKeyRequestBuilder, UpdateKeyConfigurationRequestBuilder, VerifySignedDataRequestBuilder,
};
use vaultrs::api::transit::KeyType;
use wd_core::docs::vault::TransitKey;
use wd_core::{WdError, WdResult};

impl Vault {
    /// Enables a transit mount when absent; returns whether it did.
    pub fn ensure_transit(&self, mount: &str) -> WdResult<bool> {
        if let Some(m) = self.mount(mount)? {
            if m.mount_type != "transit" {
                return Err(WdError::unreachable(format!(
                    "Vault mount {mount}/ is {}, not transit; pass another --mount",
                    m.mount_type
                )));
            }
            return Ok(false);
        }
        self.raw_ok(
            Method::POST,
            &format!("sys/mounts/{mount}"),
            Some(&json!({"type": "transit"})),
            &format!("enable transit at {mount}/"),
        )?;
        Ok(true)
    }

    /// Reads a key (direct: vaultrs' response type has no latest_version); None when absent.
    /// The key is wd-core's `TransitKey` document item (one type for a transit key), with
    /// `action: read`.
    pub fn transit_key(&self, mount: &str, name: &str) -> WdResult<Option<TransitKey>> {
        let (status, v) = self.raw(Method::GET, &format!("{mount}/keys/{name}"), None)?;
        if status == 404 {
            return Ok(None);
        }
        if status != 200 {
            return Err(self.status_error(&format!("read transit key {name}"), status, &v));
        }
        let d = &v["data"];
        let mut versions: Vec<u64> = d["keys"]
            .as_object()
            .map(|o| o.keys().filter_map(|k| k.parse().ok()).collect())
            .unwrap_or_default();
        versions.sort_unstable();
        Ok(Some(TransitKey {
            name: name.to_string(),
            key_type: d["type"].as_str().unwrap_or("").to_string(),
            latest_version: d["latest_version"]
                .as_u64()
                .unwrap_or_else(|| versions.last().copied().unwrap_or(0)),
            min_decryption_version: d["min_decryption_version"].as_u64().unwrap_or(0),
            min_encryption_version: d["min_encryption_version"].as_u64().unwrap_or(0),
            versions,
            exportable: d["exportable"].as_bool().unwrap_or(false),
            deletion_allowed: d["deletion_allowed"].as_bool().unwrap_or(false),
            action: "read".into(),
        }))
    }

    /// The public key of one version of a signing key as Transit returns it (`keys.<v>.public_key`:
    /// base64 of the raw key for ed25519, PEM for ECDSA); `None` when the key or version is absent.
    pub fn transit_public_key(
        &self,
        mount: &str,
        name: &str,
        version: u64,
    ) -> WdResult<Option<String>> {
        let (status, v) = self.raw(Method::GET, &format!("{mount}/keys/{name}"), None)?;
        if status == 404 {
            return Ok(None);
        }
        if status != 200 {
            return Err(self.status_error(&format!("read transit key {name}"), status, &v));
        }
        Ok(v["data"]["keys"][version.to_string()]["public_key"]
            .as_str()
            .map(str::to_string))
    }

    /// Creates a non-exportable signing key.
    pub fn transit_create(&self, mount: &str, name: &str, key_type: &str) -> WdResult<()> {
        let kt = match key_type {
            "ed25519" => KeyType::Ed25519,
            "ecdsa-p256" => KeyType::EcdsaP256,
            other => {
                return Err(WdError::input(format!(
                    "--type {other}: use ed25519 or ecdsa-p256"
                )))
            }
        };
        let mut opts = CreateKeyRequestBuilder::default();
        opts.key_type(kt)
            .exportable(false)
            .allow_plaintext_backup(false);
        self.block(vaultrs::transit::key::create(
            &self.client,
            mount,
            name,
            Some(&mut opts),
        ))
        .map_err(|e| map_err(&self.addr, &format!("create transit key {name}"), e))
    }

    /// Sets `deletion_allowed = false` and, when given, `min_decryption_version`.
    pub fn transit_configure(
        &self,
        mount: &str,
        name: &str,
        min_decryption_version: Option<u64>,
    ) -> WdResult<()> {
        let mut opts = UpdateKeyConfigurationRequestBuilder::default();
        opts.deletion_allowed(false);
        if let Some(v) = min_decryption_version {
            opts.min_decryption_version(v);
        }
        self.block(vaultrs::transit::key::update(
            &self.client,
            mount,
            name,
            Some(&mut opts),
        ))
        .map_err(|e| map_err(&self.addr, &format!("configure transit key {name}"), e))
    }

    pub fn transit_rotate(&self, mount: &str, name: &str) -> WdResult<()> {
        self.block(vaultrs::transit::key::rotate(&self.client, mount, name))
            .map_err(|e| map_err(&self.addr, &format!("rotate transit key {name}"), e))
    }

    /// Signs base64 `input`; returns the `vault:vN:…` signature. A 400 answer is Transit saying
    /// the request is invalid (no such key, a key type that cannot sign): bad input, exit 2.
    pub fn transit_sign(&self, mount: &str, name: &str, input_b64: &str) -> WdResult<String> {
        let r = self
            .block(vaultrs::transit::data::sign(
                &self.client,
                mount,
                name,
                input_b64,
                None,
            ))
            .map_err(|e| match e {
                vaultrs::error::ClientError::APIError { code: 400, errors } => WdError::input(format!(
                    "sign with transit key {name}: {}; check the key name (wd-transit status {name}) and the input",
                    errors.join("; ")
                )),
                e => map_err(&self.addr, &format!("sign with transit key {name}"), e),
            })?;
        Ok(r.signature)
    }

    pub fn transit_verify(
        &self,
        mount: &str,
        name: &str,
        input_b64: &str,
        signature: &str,
    ) -> WdResult<bool> {
        let mut opts = VerifySignedDataRequestBuilder::default();
        opts.signature(signature);
        match self.block(vaultrs::transit::data::verify(
            &self.client,
            mount,
            name,
            input_b64,
            Some(&mut opts),
        )) {
            Ok(r) => Ok(r.valid),
            // A signature of a version below min_decryption_version no longer verifies.
            Err(vaultrs::error::ClientError::APIError { code: 400, errors })
                if errors.iter().any(|e| e.contains("disallowed by policy")) =>
            {
                wd_core::term::warn(&format!("wd-transit: {name}: the signature's key version is below min_decryption_version"));
                Ok(false)
            }
            // Any other 400 is Transit refusing the request as invalid: a malformed signature
            // (no vault:vN: prefix, bad base64, a version the key never had) or no such key.
            Err(vaultrs::error::ClientError::APIError { code: 400, errors }) => Err(WdError::input(format!(
                "--signature: transit key {name} cannot check it ({}); pass a signature `wd-transit sign {name}` printed (vault:v<N>:<base64>)",
                errors.join("; ")
            ))),
            Err(e) => Err(map_err(
                &self.addr,
                &format!("verify with transit key {name}"),
                e,
            )),
        }
    }
}
