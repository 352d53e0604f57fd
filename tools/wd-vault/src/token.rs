//! Tokens: the limited, periodic tokens wd-transit issues for walt.id's TSE keys (create,
//! look up, renew, revoke by accessor). The token value is returned to the caller only.

use crate::Vault;
use reqwest::Method;
use serde_json::{json, Value};
use wd_core::WdResult;

/// A token just created: its value (secret) and accessor (not secret: audit log, revocation).
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub accessor: String,
}

/// What `auth/token/lookup` says about a live token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenInfo {
    pub accessor: String,
    pub policies: Vec<String>,
    /// Seconds; 0 when not periodic.
    pub period: u64,
    /// Seconds left.
    pub ttl: u64,
    pub renewable: bool,
}

impl Vault {
    /// Creates an orphan periodic token with exactly `policies` (no `default` policy): it
    /// outlives the token that created it, and lives as long as it is renewed within `period`.
    pub fn token_create_periodic(
        &self,
        policies: &[String],
        period: &str,
        display_name: &str,
    ) -> WdResult<IssuedToken> {
        let v = self.raw_ok(
            Method::POST,
            "auth/token/create-orphan",
            Some(&json!({
                "policies": policies,
                "no_default_policy": true,
                "period": period,
                "renewable": true,
                "display_name": display_name,
            })),
            &format!("create a token ({display_name})"),
        )?;
        let a = &v["auth"];
        Ok(IssuedToken {
            token: a["client_token"].as_str().unwrap_or_default().to_string(),
            accessor: a["accessor"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// Looks a token up; `None` when Vault does not know it (expired, revoked, never issued).
    pub fn token_lookup(&self, token: &str) -> WdResult<Option<TokenInfo>> {
        let (status, v) = self.raw(
            Method::POST,
            "auth/token/lookup",
            Some(&json!({ "token": token })),
        )?;
        // Vault answers an unknown token with 403 ("bad token") or 400 on older releases.
        if status == 403 || status == 400 {
            return Ok(None);
        }
        if status != 200 {
            return Err(self.status_error("look up a token", status, &v));
        }
        Ok(Some(info(&v["data"])))
    }

    /// Renews a token by value for `increment` (a periodic token: another period).
    pub fn token_renew(&self, token: &str, increment: &str) -> WdResult<()> {
        self.raw_ok(
            Method::POST,
            "auth/token/renew",
            Some(&json!({ "token": token, "increment": increment })),
            "renew a token",
        )?;
        Ok(())
    }

    /// Revokes a token (and its children) by accessor.
    pub fn token_revoke_accessor(&self, accessor: &str) -> WdResult<()> {
        self.raw_ok(
            Method::POST,
            "auth/token/revoke-accessor",
            Some(&json!({ "accessor": accessor })),
            "revoke a token",
        )?;
        Ok(())
    }
}

fn info(d: &Value) -> TokenInfo {
    TokenInfo {
        accessor: d["accessor"].as_str().unwrap_or_default().to_string(),
        policies: d["policies"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        period: d["period"].as_u64().unwrap_or(0),
        ttl: d["ttl"].as_u64().unwrap_or(0),
        renewable: d["renewable"].as_bool().unwrap_or(false),
    }
}
