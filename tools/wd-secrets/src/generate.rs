//! New secret values per the plan's generation policy, from a CSPRNG.

use wd_core::docs::secret_plan::GenerationPolicy;
use wd_core::{WdError, WdResult};

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";
const PRINTABLE: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%*+,-./:;=?@^_~";

/// A value for `policy`; `external` secrets are never generated.
pub fn value(secret: &str, policy: &GenerationPolicy) -> WdResult<String> {
    match policy.format.as_str() {
        "random" => {
            let chars = match policy.charset.as_deref() {
                Some("alphanumeric") => ALNUM,
                Some("lowercase") => LOWER,
                Some("hex") => HEX,
                Some("printable") => PRINTABLE,
                other => return Err(WdError::input(format!("secret plan: {secret}: unknown charset {other:?}; use alphanumeric, lowercase, hex or printable"))),
            };
            let len = policy.length.ok_or_else(|| WdError::input(format!("secret plan: {secret}: random needs a length")))?;
            Ok(random_string(chars, len as usize))
        }
        "ec-p256-pem" => {
            use p256::pkcs8::{EncodePrivateKey, LineEnding};
            let key = p256::SecretKey::random(&mut rand_core::OsRng);
            let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| WdError::input(format!("{secret}: cannot encode the key ({e})")))?;
            Ok(pem.to_string())
        }
        // A walt.id serialized key: {"type":"jwk","jwk":{<private P-256 JWK>}} (secp256r1 is one of
        // the key types walt.id's JWKKey handles; the issuer then shares it across replicas).
        "waltid-key" => {
            let key = p256::SecretKey::random(&mut rand_core::OsRng);
            let jwk: serde_json::Value = serde_json::from_str(&key.to_jwk_string()).map_err(|e| WdError::input(format!("{secret}: {e}")))?;
            Ok(serde_json::json!({"type": "jwk", "jwk": jwk}).to_string())
        }
        "external" => Err(WdError::problems(format!("{secret} is supplied by a person (policy external); write it with `bao kv put` / `vault kv put`"))),
        other => Err(WdError::input(format!("secret plan: {secret}: unknown format {other:?}"))),
    }
}

fn random_string(chars: &[u8], len: usize) -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| chars[rng.random_range(0..chars.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(format: &str, length: Option<u32>, charset: Option<&str>) -> GenerationPolicy {
        GenerationPolicy {
            format: format.into(),
            length,
            charset: charset.map(str::to_string),
            why: String::new(),
        }
    }

    #[test]
    fn random_values_follow_the_policy() {
        let v = value("x", &p("random", Some(16), Some("lowercase"))).unwrap();
        assert_eq!(v.len(), 16);
        assert!(v.bytes().all(|b| b.is_ascii_lowercase()));
        let a = value("x", &p("random", Some(48), Some("alphanumeric"))).unwrap();
        let b = value("x", &p("random", Some(48), Some("alphanumeric"))).unwrap();
        assert_ne!(a, b);
        assert!(value("x", &p("random", Some(8), Some("klingon"))).is_err());
    }

    #[test]
    fn keys_are_well_formed() {
        let pem = value("k", &p("ec-p256-pem", None, None)).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        use p256::pkcs8::DecodePrivateKey;
        p256::SecretKey::from_pkcs8_pem(&pem).unwrap();
        let k: serde_json::Value =
            serde_json::from_str(&value("k", &p("waltid-key", None, None)).unwrap()).unwrap();
        assert_eq!(k["type"], "jwk");
        assert_eq!(
            (k["jwk"]["kty"].as_str(), k["jwk"]["crv"].as_str()),
            (Some("EC"), Some("P-256"))
        );
        assert!(k["jwk"]["d"].is_string());
        assert_eq!(
            value("e", &p("external", None, None)).unwrap_err().exit,
            wd_core::Exit::Problems
        );
    }
}
