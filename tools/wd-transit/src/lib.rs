//! wd-transit: Transit signing keys for walt.id — the library behind the `wd-transit` binary.
//!
//! The issuer's (and wallet's) signing keys live in Vault/OpenBao Transit and never leave it:
//! keys are created non-exportable with deletion disabled, rotation keeps old versions for
//! verification, and `ref` prints the key reference walt.id's TSE key type uses.
//! Not here: the Vault client itself (wd-vault) or KV secrets (wd-secrets).

use base64::Engine;
use clap::{Parser, Subcommand};
use wd_core::cli::CommonArgs;
use wd_core::docs::secret_plan::SecretPlan;
use wd_core::docs::vault::{
    TransitKey, TransitKeyRef, TransitKeys, TransitSignature, TransitToken,
};
use wd_core::{output, Exit, WdError, WdResult};
use wd_vault::{Vault, VaultArgs};

pub mod waltid;

/// Vault/OpenBao Transit keys for walt.id signers: create, rotate, inspect, sign/verify, and
/// print walt.id's key reference (its "TSE" key type) so the private key never leaves Vault.
#[derive(Debug, Parser)]
#[command(
    name = "wd-transit",
    version,
    about,
    after_help = "Exit codes: 0 ok, 1 verify: invalid signature, 2 bad input or usage, 3 Vault unreachable, sealed or refusing.\nExample: wd-transit init && wd-transit rotate issuer"
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
    /// Transit mount.
    #[arg(long, global = true, default_value = "transit")]
    pub mount: String,
    #[command(flatten)]
    pub vault: VaultArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KeyTypeArg {
    Ed25519,
    EcdsaP256,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Enable the mount if absent and create one key per signer (exportable=false,
    /// deletion_allowed=false). Idempotent.
    Init {
        /// Signers (default: issuer wallet).
        #[arg(default_values = ["issuer", "wallet"])]
        names: Vec<String>,
        #[arg(long = "type", value_enum, default_value = "ed25519")]
        key_type: KeyTypeArg,
    },
    /// Add a key version; earlier versions still verify. Prints the new version.
    Rotate { name: String },
    /// Versions and minimum decryption/encryption versions of keys (default: issuer wallet).
    Status {
        #[arg(default_values = ["issuer", "wallet"])]
        names: Vec<String>,
    },
    /// Set a key's configuration.
    Config {
        name: String,
        /// Versions below this can no longer be used (for signatures: no longer verify).
        #[arg(long)]
        min_decryption_version: u64,
    },
    /// Sign a smoke-test input with a key.
    Sign {
        name: String,
        #[command(flatten)]
        input: Input,
    },
    /// Verify a signature; exit 1 when it is invalid.
    Verify {
        name: String,
        #[command(flatten)]
        input: Input,
        #[arg(long)]
        signature: String,
    },
    /// Print the key reference walt.id needs to sign with this key through Vault (its TSE key:
    /// server, auth.accessKey, id) and the key's did:jwk. The token is an env reference unless
    /// --show-secrets.
    Ref {
        name: String,
        #[command(flatten)]
        server: ServerArg,
        /// The environment variable walt.id reads the access token from (a `${ENV}` reference).
        #[arg(long, value_name = "ENV")]
        access_key_env: Option<String>,
        /// Put the current Vault token itself into the reference.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Print the did:jwk of a key's public key (version 1: the one walt.id 0.18.2 reads).
    Did { name: String },
    /// Issue (or renew) the limited token walt.id signs with: a periodic orphan token whose only
    /// policy can sign with this key and read its public key. With --plan, the walt.id key
    /// reference (token inside) and the DID go to the plan's Vault path for the key, where the
    /// scenario's ExternalSecret reads them; a live stored token is renewed, not replaced.
    Token {
        name: String,
        #[command(flatten)]
        server: ServerArg,
        /// The SecretPlan (wd-render writes out/secrets/secret-plan.json): store under the path of
        /// its secrets <name>-transit-key and <name>-transit-did.
        #[arg(long)]
        plan: Option<std::path::PathBuf>,
        /// The Transit key the signer uses. Default: the key of the reference the store already
        /// holds, else <NAME>. A new key here moves walt.id's signer to it (rotation:
        /// `wd-transit token issuer --plan … --key issuer-2`); later runs keep it.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// Renewal period (Vault duration): the token expires unless renewed within it.
        #[arg(long, default_value = "768h")]
        period: String,
        /// Issue a new token even when the stored one is live (its accessor is reported for
        /// revocation once the pods read the new one).
        #[arg(long)]
        new: bool,
        /// Print the reference with the token in it.
        #[arg(long)]
        show_secrets: bool,
        /// Wallet mode: a token for the keys walt.id's wallet creates itself (TSEKey.generate
        /// names them k<random int>): create and read `<mount>/keys/<prefix>*`, sign with
        /// `<mount>/sign/<prefix>*`, nothing else. Prints walt.id's defaultKeyConfig for
        /// registration-defaults.conf; needs --show-secrets (there is no store for it).
        #[arg(long, value_name = "PREFIX", conflicts_with_all = ["plan", "new", "key"])]
        key_prefix: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServerArg {
    /// Transit URL walt.id calls (`<vault>/v1/<mount>`; in the cluster the platform's Vault
    /// Service, e.g. http://vault.vault.svc:8200/v1/transit). Default: this connection's.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
}

impl ServerArg {
    /// The Transit URL: it must hold `/v1/` (walt.id's TSEAuth takes the part before it as the
    /// Vault API root).
    fn url(&self, v: &Vault, mount: &str) -> WdResult<String> {
        let url = self
            .server
            .clone()
            .unwrap_or_else(|| format!("{}/v1/{mount}", v.addr));
        let url = url.trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || !url.ends_with(&format!("/v1/{mount}"))
        {
            return Err(WdError::input(format!(
                "--server {url:?}: not a Transit URL; pass <scheme>://<vault host>:<port>/v1/{mount}"
            )));
        }
        Ok(url)
    }
}

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Input {
    /// Text to sign/verify.
    #[arg(long)]
    pub input: Option<String>,
    /// Base64 input to sign/verify.
    #[arg(long)]
    pub input_base64: Option<String>,
}

impl Input {
    fn b64(&self) -> WdResult<String> {
        match (&self.input, &self.input_base64) {
            (Some(t), _) => Ok(base64::engine::general_purpose::STANDARD.encode(t.as_bytes())),
            (None, Some(b)) => {
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map_err(|_| WdError::input("--input-base64: not valid base64"))?;
                Ok(b.clone())
            }
            _ => Err(WdError::input("pass --input or --input-base64")),
        }
    }
}

/// The key as read, with what this run did to it.
fn key_doc(mut k: TransitKey, action: &str) -> TransitKey {
    k.action = action.into();
    k
}

fn existing(v: &Vault, mount: &str, name: &str) -> WdResult<TransitKey> {
    v.transit_key(mount, name)?.ok_or_else(|| WdError::input(format!("transit key {name} does not exist in {mount}/; create it with `wd-transit init {name}`")))
}

fn check_name(name: &str) -> WdResult<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(WdError::input(format!(
            "key name {name:?}: use letters, digits, - and _"
        )));
    }
    Ok(())
}

/// A Transit signature: `vault:v<N>:<base64>` (checked before Vault is asked, exit 2).
fn check_signature(sig: &str) -> WdResult<()> {
    let bad = || {
        WdError::input(format!(
            "--signature {sig:?}: not a Transit signature; pass one `wd-transit sign` printed (vault:v<N>:<base64>)"
        ))
    };
    let rest = sig.strip_prefix("vault:v").ok_or_else(bad)?;
    let (version, b64) = rest.split_once(':').ok_or_else(bad)?;
    if version.parse::<u64>().map_or(true, |n| n == 0) {
        return Err(bad());
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| bad())?;
    Ok(())
}

/// Runs `wd-transit` with these arguments.
pub fn run(cli: Cli) -> WdResult<Exit> {
    let format = cli.common.init();
    let m = cli.mount.as_str();
    let v = Vault::connect(&cli.vault)?;
    let keys_doc = |keys: Vec<TransitKey>| TransitKeys {
        mount: m.to_string(),
        keys,
        ..Default::default()
    };
    match cli.cmd {
        Cmd::Init { names, key_type } => {
            if v.ensure_transit(m)? {
                wd_core::term::step(&format!("enabled transit at {m}/"));
            }
            let kt = match key_type {
                KeyTypeArg::Ed25519 => "ed25519",
                KeyTypeArg::EcdsaP256 => "ecdsa-p256",
            };
            let mut out = Vec::new();
            for n in &names {
                check_name(n)?;
                let action = match v.transit_key(m, n)? {
                    Some(k) => {
                        if k.key_type != kt {
                            wd_core::term::warn(&format!(
                                "wd-transit: warning: key {n} exists as {}, not {kt}; kept",
                                k.key_type
                            ));
                        }
                        "kept"
                    }
                    None => {
                        v.transit_create(m, n, kt)?;
                        "created"
                    }
                };
                v.transit_configure(m, n, None)?;
                out.push(key_doc(existing(&v, m, n)?, action));
            }
            output::emit(&keys_doc(out), format)?;
        }
        Cmd::Rotate { name } => {
            let before = existing(&v, m, &name)?;
            v.transit_rotate(m, &name)?;
            let after = existing(&v, m, &name)?;
            wd_core::term::warn(&format!(
                "wd-transit: {name} now signs as version {}; walt.id 0.18.2 cannot use a rotated key (it reads version 1's public key and strips only a vault:v1: prefix): rotate walt.id's signer with a new key, docs/runbooks/signing-keys.md",
                after.latest_version
            ));
            wd_core::term::step(&format!(
                "{name}: version {} -> {}",
                before.latest_version, after.latest_version
            ));
            output::emit(&keys_doc(vec![key_doc(after, "rotated")]), format)?;
        }
        Cmd::Status { names } => {
            let mut out = Vec::new();
            for n in &names {
                out.push(key_doc(existing(&v, m, n)?, "read"));
            }
            output::emit(&keys_doc(out), format)?;
        }
        Cmd::Config {
            name,
            min_decryption_version,
        } => {
            let k = existing(&v, m, &name)?;
            if min_decryption_version == 0 || min_decryption_version > k.latest_version {
                return Err(WdError::input(format!("--min-decryption-version {min_decryption_version}: must be between 1 and the latest version {}", k.latest_version)));
            }
            v.transit_configure(m, &name, Some(min_decryption_version))?;
            output::emit(
                &keys_doc(vec![key_doc(existing(&v, m, &name)?, "configured")]),
                format,
            )?;
        }
        Cmd::Sign { name, input } => {
            check_name(&name)?;
            let b64 = input.b64()?;
            existing(&v, m, &name)?;
            let signature = v.transit_sign(m, &name, &b64)?;
            output::emit(
                &TransitSignature {
                    key: name,
                    input: b64,
                    signature,
                    valid: None,
                    ..Default::default()
                },
                format,
            )?;
        }
        Cmd::Verify {
            name,
            input,
            signature,
        } => {
            check_name(&name)?;
            let b64 = input.b64()?;
            check_signature(&signature)?;
            existing(&v, m, &name)?;
            let valid = v.transit_verify(m, &name, &b64, &signature)?;
            output::emit(
                &TransitSignature {
                    key: name,
                    input: b64,
                    signature,
                    valid: Some(valid),
                    ..Default::default()
                },
                format,
            )?;
            if !valid {
                return Ok(Exit::Problems);
            }
        }
        Cmd::Ref {
            name,
            server,
            access_key_env,
            show_secrets,
        } => {
            let k = existing(&v, m, &name)?;
            waltid::usable(&k)?;
            let url = server.url(&v, m)?;
            let env = access_key_env.unwrap_or_else(|| {
                format!(
                    "{}_TRANSIT_TOKEN",
                    name.to_ascii_uppercase().replace('-', "_")
                )
            });
            // walt.id substitutes ${VAR} inside quoted HOCON strings from the environment (waltid-facts §2).
            let access_key = if show_secrets {
                v.token().to_string()
            } else {
                format!("${{{env}}}")
            };
            let (did, jwk) = did_of(&v, m, &name)?;
            output::emit(
                &TransitKeyRef {
                    key: name.clone(),
                    reference: waltid::reference(&url, &name, &access_key),
                    did: Some(did),
                    public_key_jwk: Some(jwk),
                    ..Default::default()
                },
                format,
            )?;
        }
        Cmd::Did { name } => {
            check_name(&name)?;
            let k = existing(&v, m, &name)?;
            if k.latest_version > 1 {
                wd_core::term::warn(&format!("wd-transit: {name} has {} versions; this is version 1's DID (walt.id 0.18.2 reads only version 1), which verifies what was signed before the rotation", k.latest_version));
            }
            let (did, jwk) = did_of(&v, m, &name)?;
            let doc = TransitKeyRef {
                key: name,
                reference: serde_json::Value::Null,
                did: Some(did.clone()),
                public_key_jwk: Some(jwk),
                ..Default::default()
            };
            if matches!(format, output::Format::Table) {
                println!("{did}");
            } else {
                output::emit(&doc, format)?;
            }
        }
        Cmd::Token {
            name,
            server,
            plan,
            period,
            new,
            show_secrets,
            key_prefix,
            key,
        } => {
            check_name(&name)?;
            if let Some(prefix) = key_prefix {
                check_name(&prefix)?;
                if !show_secrets {
                    return Err(WdError::input("wd-transit token --key-prefix: the token would be lost; pass --show-secrets and put it into the wallet's Secret (docs/runbooks/signing-keys.md)"));
                }
                if v.ensure_transit(m)? {
                    wd_core::term::step(&format!("enabled transit at {m}/"));
                }
                let url = server.url(&v, m)?;
                let policy = format!("{}-keys", waltid::policy_name(m, &name));
                v.set_policy(&policy, &waltid::prefix_policy_hcl(m, &prefix))?;
                let t = v.token_create_periodic(
                    std::slice::from_ref(&policy),
                    &period,
                    &format!("wd-transit-{name}-keys"),
                )?;
                let info = v.token_lookup(&t.token)?.ok_or_else(|| {
                    WdError::unreachable("Vault does not know the token it just created")
                })?;
                output::emit(
                    &TransitKeyRef {
                        key: format!("{prefix}*"),
                        reference: waltid::key_config(&url, &t.token),
                        token: Some(TransitToken {
                            policy,
                            accessor: t.accessor,
                            period: info.period,
                            ttl: info.ttl,
                            action: "issued".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    format,
                )?;
                return Ok(Exit::Ok);
            }
            if plan.is_none() && !show_secrets {
                return Err(WdError::input("wd-transit token: the token would be lost; pass --plan out/secrets/secret-plan.json (store it in Vault KV) or --show-secrets (print it)"));
            }
            let store = match &plan {
                Some(p) => Some(waltid::Store::from_plan(
                    &read_plan(p)?,
                    &name,
                    &p.display().to_string(),
                )?),
                None => None,
            };
            let key_id = match (key, &store) {
                (Some(k), _) => k,
                (None, Some(s)) => waltid::stored_key(&v, s)?.unwrap_or_else(|| name.clone()),
                (None, None) => name.clone(),
            };
            check_name(&key_id)?;
            let k = existing(&v, m, &key_id)?;
            waltid::usable(&k)?;
            let url = server.url(&v, m)?;
            let (did, jwk) = did_of(&v, m, &key_id)?;
            let policy = waltid::policy_name(m, &key_id);
            v.set_policy(&policy, &waltid::policy_hcl(m, &key_id))?;
            let (reference, token) = waltid::issue(
                &v,
                store.as_ref(),
                &url,
                &key_id,
                &policy,
                &period,
                &did,
                new,
            )?;
            let shown = if show_secrets {
                reference
            } else {
                waltid::redacted(reference)
            };
            output::emit(
                &TransitKeyRef {
                    key: key_id,
                    reference: shown,
                    did: Some(did),
                    public_key_jwk: Some(jwk),
                    token: Some(token),
                    ..Default::default()
                },
                format,
            )?;
        }
    }
    Ok(Exit::Ok)
}

/// The DID of a key's version 1 (the public key walt.id 0.18.2 reads, TSEKey.retrievePublicKey)
/// and its JWK.
fn did_of(v: &Vault, mount: &str, name: &str) -> WdResult<(String, serde_json::Value)> {
    let k = existing(v, mount, name)?;
    if k.key_type != "ed25519" {
        return Err(WdError::input(format!("transit key {name} is {}: only ed25519 keys have a DID here (walt.id 0.18.2 signs JWS correctly only with them); create one with `wd-transit init <name> --type ed25519`", k.key_type)));
    }
    let b64 = v.transit_public_key(mount, name, 1)?.ok_or_else(|| {
        WdError::unreachable(format!(
            "Vault returned no public key for version 1 of transit key {name}"
        ))
    })?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| {
            WdError::unreachable(format!(
                "Vault returned a public key for {name} that is not base64"
            ))
        })?;
    let raw: [u8; 32] = raw.try_into().map_err(|r: Vec<u8>| {
        WdError::unreachable(format!(
            "Vault returned a {}-byte ed25519 public key for {name} (32 expected)",
            r.len()
        ))
    })?;
    Ok((waltid::did_jwk_ed25519(&raw), waltid::ed25519_jwk(&raw)))
}

fn read_plan(p: &std::path::Path) -> WdResult<SecretPlan> {
    let hint = "pass --plan out/secrets/secret-plan.json (written by wd-render)";
    let (plan, _, _) = wd_core::docs::read_input::<SecretPlan>(Some(p), hint)?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transit_signatures_reach_vault() {
        for ok in ["vault:v1:AAAA", "vault:v12:aGVsbG8="] {
            assert!(check_signature(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "garbage",
            "vault:v0:AAAA",
            "vault:vX:AAAA",
            "vault:v1:!!!",
            "vault:v1",
        ] {
            let e = check_signature(bad).unwrap_err();
            assert_eq!(e.exit, Exit::Usage, "{bad}");
            assert!(e.message.contains("not a Transit signature"), "{e}");
        }
    }
}
