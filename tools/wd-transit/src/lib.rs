//! wd-transit: Transit signing keys for walt.id — the library behind the `wd-transit` binary.
//!
//! The issuer's (and wallet's) signing keys live in Vault/OpenBao Transit and never leave it:
//! keys are created non-exportable with deletion disabled, rotation keeps old versions for
//! verification, and `ref` prints the key reference walt.id's TSE key type uses.
//! Not here: the Vault client itself (wd-vault) or KV secrets (wd-secrets).

use base64::Engine;
use clap::{Parser, Subcommand};
use wd_core::cli::CommonArgs;
use wd_core::docs::vault::{TransitKey, TransitKeyRef, TransitKeys, TransitSignature};
use wd_core::{output, Exit, WdError, WdResult};
use wd_vault::{Vault, VaultArgs};

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
    /// Print the key reference walt.id needs to sign with this key through Vault (TSE key:
    /// server URL, key id, access token). The token is an env reference unless --show-secrets.
    Ref {
        name: String,
        /// The environment variable walt.id reads the access token from.
        #[arg(long, value_name = "ENV")]
        access_key_env: Option<String>,
        /// Put the current Vault token itself into the reference.
        #[arg(long)]
        show_secrets: bool,
    },
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
            access_key_env,
            show_secrets,
        } => {
            let k = existing(&v, m, &name)?;
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
            // Field names as in walt.id's TSE key config (registration-defaults.conf: backend tse,
            // config {server, accessKey}); keyType in walt.id's names.
            let key_type = match k.key_type.as_str() {
                "ed25519" => "Ed25519",
                "ecdsa-p256" => "secp256r1",
                other => other,
            };
            let reference = serde_json::json!({
                "type": "tse",
                "server": format!("{}/v1/{m}", v.addr),
                "accessKey": access_key,
                "id": name,
                "keyType": key_type,
            });
            output::emit(
                &TransitKeyRef {
                    key: name,
                    reference,
                    ..Default::default()
                },
                format,
            )?;
        }
    }
    Ok(Exit::Ok)
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
