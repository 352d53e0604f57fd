//! walt.id's side of a Transit key: the serialized TSE key it accepts, the DID of the key, the
//! limited token it signs with, and where that token is stored for the pods.
//!
//! The shape comes from walt.id's sources at v0.18.2 (walt-id/waltid-identity,
//! waltid-libraries/crypto/waltid-crypto/src/commonMain/kotlin/id/walt/crypto/keys/):
//! - `tse/TSEKey.kt`: `@SerialName("tse")` with fields `server` (the Transit URL up to the
//!   mount), `auth` (TSEAuth), the deprecated top-level `accessKey`, `namespace`, `id` (the key
//!   name), `_publicKey`, `_keyType`. It calls `GET <server>/keys/<id>` (type; public key of
//!   version "1" only) and `POST <server>/sign/<id>` with `{"input": base64}` and nothing else
//!   (Transit's defaults), and strips only a `vault:v1:` prefix from the signature.
//! - `tse/TSEAuth.kt`: `accessKey` (a token), `roleId`+`secretId` (AppRole) or
//!   `username`+`password` (+`userpassPath`); the API root is the server URL up to `/v1`.
//! - `KeyManager.kt` `resolveSerializedKey`: `type` picks the class, the other fields decode
//!   with kotlinx's default Json (an unknown field is an error).
//! - `JWKKeyGenerator.jvm.kt` `importRawPublicKey` + waltid-did `DidJwkRegistrar.kt`: the DID is
//!   `did:jwk:` + base64url of the public JWK `{"kty":"OKP","crv":"Ed25519","x":…}`.

use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use wd_core::docs::secret_plan::SecretPlan;
use wd_core::docs::vault::{TransitKey, TransitToken};
use wd_core::{WdError, WdResult};
use wd_vault::Vault;

/// Whether walt.id 0.18.2 can sign with this key (exit 2 naming why not).
pub fn usable(k: &TransitKey) -> WdResult<()> {
    if k.key_type != "ed25519" {
        return Err(WdError::input(format!(
            "transit key {}: {} keys sign as ASN.1 through walt.id 0.18.2 (TSEKey.signRaw asks Transit's default marshaling), which is not a JWS signature; use an ed25519 key (wd-transit init <name> --type ed25519)",
            k.name, k.key_type
        )));
    }
    if k.latest_version != 1 {
        return Err(WdError::input(format!(
            "transit key {} has {} versions: walt.id 0.18.2 reads only version 1's public key and strips only a vault:v1: prefix from signatures (TSEKey), so it cannot sign with a rotated key; give walt.id a new key instead (wd-transit init {}-2; docs/runbooks/signing-keys.md)",
            k.name, k.latest_version, k.name
        )));
    }
    Ok(())
}

/// The serialized TSE key walt.id 0.18.2 resolves (`KeyManager.resolveSerializedKey`).
pub fn reference(server: &str, id: &str, access_key: &str) -> Value {
    json!({
        "type": "tse",
        "server": server,
        "auth": {"accessKey": access_key},
        "id": id,
        "_keyType": "Ed25519",
    })
}

/// The reference with its token replaced by `<redacted>`.
pub fn redacted(mut r: Value) -> Value {
    if let Some(a) = r.pointer_mut("/auth/accessKey") {
        *a = Value::String("<redacted>".into());
    }
    r
}

/// The public JWK of a raw Ed25519 key, members in walt.id's order (see [`did_jwk_ed25519`]).
pub fn ed25519_jwk_text(raw: &[u8; 32]) -> String {
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}"#)
}

pub fn ed25519_jwk(raw: &[u8; 32]) -> Value {
    serde_json::from_str(&ed25519_jwk_text(raw)).expect("a JWK we wrote")
}

/// `did:jwk` (base64url without padding of the JWK's UTF-8 JSON). The did:jwk method needs no
/// canonical member order; this is the one walt.id writes (nimbus OctetKeyPair's JSON: kty,
/// crv, x), so the DID equals the one walt.id derives from the same key.
pub fn did_jwk_ed25519(raw: &[u8; 32]) -> String {
    did_jwk(&ed25519_jwk_text(raw))
}

/// `did:jwk:` + base64url of a JWK's JSON text as given.
pub fn did_jwk(jwk_json: &str) -> String {
    format!(
        "did:jwk:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(jwk_json.as_bytes())
    )
}

/// The policy of a signer's limited token.
pub fn policy_name(mount: &str, name: &str) -> String {
    format!("wd-transit-{}-{name}", mount.replace('/', "-"))
}

/// Exactly the calls walt.id's TSEKey makes for signing (read the key: type and public key;
/// sign), and renewing/looking up the token itself. No export, verify, rotate, config, other
/// keys, KV or anything else; no `default` policy.
pub fn policy_hcl(mount: &str, name: &str) -> String {
    format!(
        "# wd-transit: walt.id signs with transit key {name} and reads its public key; nothing else.\n\
         path \"{mount}/keys/{name}\" {{\n  capabilities = [\"read\"]\n}}\n\
         path \"{mount}/sign/{name}\" {{\n  capabilities = [\"update\"]\n}}\n\
         path \"auth/token/renew-self\" {{\n  capabilities = [\"update\"]\n}}\n\
         path \"auth/token/lookup-self\" {{\n  capabilities = [\"read\"]\n}}\n"
    )
}

/// The wallet's token: create and read keys named `<prefix>…` and sign with them. Transit
/// creates a key with an update (OpenBao 2.7 refuses `create` alone), and an ACL cannot take
/// `keys/<prefix>*/config` or `/rotate` back from a glob, so this token can also reconfigure and
/// rotate those keys (not export, back up or delete them: no export/backup path, no `delete`).
pub fn prefix_policy_hcl(mount: &str, prefix: &str) -> String {
    format!(
        "# wd-transit: walt.id's wallet creates keys {prefix}* (TSEKey.generate), reads and signs with them; nothing else.\n\
         path \"{mount}/keys/{prefix}*\" {{\n  capabilities = [\"create\", \"update\", \"read\"]\n}}\n\
         path \"{mount}/sign/{prefix}*\" {{\n  capabilities = [\"update\"]\n}}\n\
         path \"auth/token/renew-self\" {{\n  capabilities = [\"update\"]\n}}\n\
         path \"auth/token/lookup-self\" {{\n  capabilities = [\"read\"]\n}}\n"
    )
}

/// walt.id's KeyGenerationRequest for registration-defaults.conf `defaultKeyConfig` with the
/// TSE backend (waltid-crypto KeyGenerationRequest + TSEKeyMetadata at v0.18.2: backend,
/// keyType, config {server, auth}).
pub fn key_config(server: &str, access_key: &str) -> Value {
    json!({
        "backend": "tse",
        "keyType": "Ed25519",
        "config": {"server": server, "auth": {"accessKey": access_key}},
    })
}

/// Where the reference and DID of a signer are kept: the plan's secrets `<name>-transit-key`
/// and `<name>-transit-did` (config/secrets.yaml), one Vault path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub mount: String,
    pub path: String,
    pub key_field: String,
    pub did_field: String,
}

impl Store {
    pub fn from_plan(plan: &SecretPlan, name: &str, file: &str) -> WdResult<Store> {
        let find = |suffix: &str| {
            let want = format!("{name}-transit-{suffix}");
            plan.secrets.iter().find(|s| s.name == want).ok_or_else(|| {
                WdError::input(format!(
                    "{file}: no secret {want}; declare it in config/secrets.yaml (format external, written by wd-transit token) and run wd-render"
                ))
            })
        };
        let (k, d) = (find("key")?, find("did")?);
        if k.vault_path != d.vault_path {
            return Err(WdError::input(format!(
                "{file}: {} and {} must share one vaultPath (got {} and {}); fix config/secrets.yaml",
                k.name, d.name, k.vault_path, d.vault_path
            )));
        }
        Ok(Store {
            mount: plan.kv_mount.clone(),
            path: k.vault_path.clone(),
            key_field: k.vault_key.clone(),
            did_field: d.vault_key.clone(),
        })
    }
}

/// The Transit key of the reference the store holds, if any.
pub fn stored_key(v: &Vault, s: &Store) -> WdResult<Option<String>> {
    Ok(v.kv_read(&s.mount, &s.path)?.and_then(|c| {
        let r: Value = serde_json::from_str(c.data.get(&s.key_field)?).ok()?;
        r["id"].as_str().map(str::to_string)
    }))
}

/// The stored reference's token, and whether the reference is for this server and key.
fn stored_token(
    data: &BTreeMap<String, String>,
    field: &str,
    server: &str,
    id: &str,
) -> Option<(String, bool)> {
    let r: Value = serde_json::from_str(data.get(field)?).ok()?;
    let same = r["server"] == server && r["id"] == id;
    r.pointer("/auth/accessKey")?
        .as_str()
        .map(|t| (t.to_string(), same))
}

/// Issues the token (or renews the live stored one) and stores the reference and DID.
/// Returns the reference (with the token) and what was done.
#[allow(clippy::too_many_arguments)]
pub fn issue(
    v: &Vault,
    store: Option<&Store>,
    server: &str,
    name: &str,
    policy: &str,
    period: &str,
    did: &str,
    force_new: bool,
) -> WdResult<(Value, TransitToken)> {
    let mut previous_accessor = String::new();
    let current = match store {
        Some(s) => {
            if v.ensure_kv2(&s.mount)? {
                wd_core::term::step(&format!("enabled KV v2 at {}/", s.mount));
            }
            v.kv_read(&s.mount, &s.path)?
        }
        None => None,
    };
    let mut action = "issued";
    if let (Some(s), Some(c)) = (store, &current) {
        if let Some((old, same)) = stored_token(&c.data, &s.key_field, server, name) {
            match v.token_lookup(&old)? {
                Some(info) if same && info.policies.iter().any(|p| p == policy) && !force_new => {
                    v.token_renew(&old, period)?;
                    let info = v.token_lookup(&old)?.unwrap_or(info);
                    let reference = reference(server, name, &old);
                    if c.data.get(&s.did_field).map(String::as_str) != Some(did) {
                        write(v, s, &reference, did, c.version)?;
                    }
                    return Ok((
                        reference,
                        TransitToken {
                            policy: policy.into(),
                            accessor: info.accessor,
                            period: info.period,
                            ttl: info.ttl,
                            action: "renewed".into(),
                            stored_at: format!("{}/{}", s.mount, s.path),
                            previous_accessor,
                        },
                    ));
                }
                Some(info) => previous_accessor = info.accessor,
                None => action = "reissued",
            }
        }
    }
    let t =
        v.token_create_periodic(&[policy.to_string()], period, &format!("wd-transit-{name}"))?;
    let info = v
        .token_lookup(&t.token)?
        .ok_or_else(|| WdError::unreachable("Vault does not know the token it just created"))?;
    let reference = reference(server, name, &t.token);
    let stored_at = match store {
        Some(s) => {
            let cas = current.as_ref().map_or(0, |c| c.version);
            if let Err(e) = write(v, s, &reference, did, cas) {
                // a token nobody holds is revoked, not left live
                v.token_revoke_accessor(&t.accessor)?;
                return Err(e);
            }
            format!("{}/{}", s.mount, s.path)
        }
        None => String::new(),
    };
    Ok((
        reference,
        TransitToken {
            policy: policy.into(),
            accessor: t.accessor,
            period: info.period,
            ttl: info.ttl,
            action: action.into(),
            stored_at,
            previous_accessor,
        },
    ))
}

/// Writes reference + DID, keeping the path's other keys; check-and-set against `cas`.
fn write(v: &Vault, s: &Store, reference: &Value, did: &str, cas: u64) -> WdResult<()> {
    let mut data = v
        .kv_read(&s.mount, &s.path)?
        .map(|c| c.data)
        .unwrap_or_default();
    data.insert(s.key_field.clone(), reference.to_string());
    data.insert(s.did_field.clone(), did.to_string());
    v.kv_write(&s.mount, &s.path, &data, cas)?.map_err(|_| {
        WdError::unreachable(format!(
            "{}/{} changed while the token was issued; run wd-transit token again",
            s.mount, s.path
        ))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_jwk_encodes_the_jwk_text_as_the_method_spec_says() {
        // did:jwk method spec's X25519 example (quartzjer/did-jwk spec.md): the JWK text and
        // its DID.
        assert_eq!(
            did_jwk(r#"{"kty":"OKP","crv":"X25519","use":"enc","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}"#),
            "did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJYMjU1MTkiLCJ1c2UiOiJlbmMiLCJ4IjoiM3A3YmZYdDl3YlRUVzJIQzdPUTFOei1EUThoYmVHZE5yZngtRkctSUswOCJ9"
        );
    }

    #[test]
    fn did_of_a_known_ed25519_key() {
        // RFC 8037 A.2's public key (d75a98…511a, x = 11qYAYKx…URo).
        let raw: [u8; 32] = [
            0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64,
            0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68,
            0xf7, 0x07, 0x51, 0x1a,
        ];
        assert_eq!(
            ed25519_jwk(&raw)["x"],
            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        );
        // base64url of {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        assert_eq!(
            did_jwk_ed25519(&raw),
            "did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJFZDI1NTE5IiwieCI6IjExcVlBWUt4Q3JmVlNfN1R5V1FIT2c3aGN2UGFwaU1scndJYWFQY0hVUm8ifQ"
        );
    }

    #[test]
    fn the_reference_has_only_fields_walt_id_decodes() {
        let r = reference("http://vault.vault.svc:8200/v1/transit", "issuer", "t");
        let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        // TSEKey's serial names (+ the polymorphic `type`), TSEAuth's accessKey
        assert_eq!(keys, ["_keyType", "auth", "id", "server", "type"]);
        assert_eq!(r["auth"], json!({"accessKey": "t"}));
        assert_eq!(redacted(r)["auth"]["accessKey"], "<redacted>");
    }

    #[test]
    fn the_policy_allows_sign_and_read_of_one_key_only() {
        let h = policy_hcl("transit", "issuer");
        assert!(h.contains("path \"transit/keys/issuer\" {\n  capabilities = [\"read\"]"));
        assert!(h.contains("path \"transit/sign/issuer\" {\n  capabilities = [\"update\"]"));
        assert!(!h.contains('*') && !h.contains('+'), "no globs: {h}");
        assert_eq!(h.matches("path \"").count(), 4);
    }
}
