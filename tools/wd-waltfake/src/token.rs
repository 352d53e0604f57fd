//! Keys, ids and JWTs.
//!
//! walt.id signs pre-authorized codes and access tokens with `CI_TOKEN_KEY` and puts its key id in
//! the JWS header; a replica that does not hold that key id cannot resolve it and throws
//! `TokenVerificationError("Could not resolve key for given token")`
//! (waltid-libraries/protocols/waltid-openid4vc/.../OpenID4VC.kt `verifyTokenSignature`). The fake
//! signs them HS256 with a per-replica (or shared) secret and the same kid rule. Wallet login
//! tokens are HS256 with auth.conf's `tokenKey` and no kid (wallet-api AuthController.kt).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::{RngExt, SeedableRng};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Derives every key and seed of one fake from its seed, so runs are reproducible.
pub struct KeySource {
    seed: u64,
}

impl KeySource {
    pub fn new(seed: u64) -> Self {
        KeySource { seed }
    }

    /// 32 bytes derived from the seed and a label (distinct labels give unrelated bytes).
    pub fn secret(&self, label: &str) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update(self.seed.to_be_bytes());
        h.update(label.as_bytes());
        h.finalize().to_vec()
    }

    pub fn seed_for(&self, label: &str) -> u64 {
        let s = self.secret(label);
        u64::from_be_bytes(s[..8].try_into().expect("8 bytes"))
    }

    pub fn token_key(&self, label: &str) -> TokenKey {
        let secret = self.secret(label);
        let kid = B64.encode(&Sha256::digest(&secret)[..16]);
        TokenKey { kid, secret }
    }
}

/// An HMAC key with a key id (the fake's stand-in for walt.id's `ciTokenKey`).
pub struct TokenKey {
    pub kid: String,
    pub secret: Vec<u8>,
}

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// The header names a key this replica does not hold.
    UnknownKey,
    /// Malformed, or the signature does not verify.
    Invalid,
}

fn mac(secret: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// HS256 JWS over `payload`, with `kid` in the header when given.
pub fn sign_hs256(secret: &[u8], kid: Option<&str>, payload: &Value) -> String {
    let mut header = json!({"alg": "HS256", "typ": "jwt"});
    if let Some(k) = kid {
        header["kid"] = json!(k);
    }
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(payload.to_string())
    );
    let sig = B64.encode(mac(secret, signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

/// Splits a compact JWS into (header, payload, signing input, signature).
pub fn parts(token: &str) -> Option<(Value, Value, String, Vec<u8>)> {
    let mut it = token.split('.');
    let (h, p, s) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&B64.decode(h).ok()?).ok()?;
    let payload: Value = serde_json::from_slice(&B64.decode(p).ok()?).ok()?;
    Some((header, payload, format!("{h}.{p}"), B64.decode(s).ok()?))
}

/// Verifies a token signed by [`sign_hs256`]; `kid` is the id this replica's key answers to.
pub fn verify_hs256(secret: &[u8], kid: Option<&str>, token: &str) -> Result<Value, TokenError> {
    let (header, payload, input, sig) = parts(token).ok_or(TokenError::Invalid)?;
    if let Some(k) = kid {
        if header.get("kid").and_then(Value::as_str) != Some(k) {
            return Err(TokenError::UnknownKey);
        }
    }
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(input.as_bytes());
    m.verify_slice(&sig).map_err(|_| TokenError::Invalid)?;
    Ok(payload)
}

/// A seeded generator of ids (UUID-shaped, like walt.id's session ids) and nonces.
pub struct Ids {
    rng: std::sync::Mutex<rand::rngs::StdRng>,
}

impl Ids {
    pub fn new(seed: u64) -> Self {
        Ids {
            rng: std::sync::Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
        }
    }

    pub fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        self.rng.lock().expect("ids rng").fill(&mut b[..]);
        b
    }

    /// A random (version 4 layout) UUID string.
    pub fn uuid(&self) -> String {
        let mut b = self.bytes::<16>();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    pub fn nonce(&self) -> String {
        B64.encode(self.bytes::<16>())
    }

    /// A new P-256 key (the issuer's onboarded key, a holder key).
    pub fn p256(&self) -> p256::SecretKey {
        loop {
            if let Ok(k) = p256::SecretKey::from_slice(&self.bytes::<32>()) {
                return k;
            }
        }
    }
}

/// `did:jwk:<base64url(public JWK)>` for a P-256 key.
pub fn did_jwk(key: &p256::SecretKey) -> String {
    let jwk = key.public_key().to_jwk_string();
    format!("did:jwk:{}", B64.encode(jwk.as_bytes()))
}

/// The public key a `did:jwk` names, if it is a P-256 one.
pub fn did_jwk_public(did: &str) -> Option<p256::PublicKey> {
    let enc = did.strip_prefix("did:jwk:")?.split('#').next()?;
    let jwk = String::from_utf8(B64.decode(enc).ok()?).ok()?;
    p256::PublicKey::from_jwk_str(&jwk).ok()
}

/// ES256 JWS over `payload` with `kid`.
pub fn sign_es256(key: &p256::SecretKey, kid: &str, payload: &Value) -> String {
    use p256::ecdsa::signature::Signer;
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(payload.to_string())
    );
    let signer = p256::ecdsa::SigningKey::from(key);
    let sig: p256::ecdsa::Signature = signer.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", B64.encode(sig.to_bytes()))
}

/// Verifies an ES256 JWS against a P-256 public key.
pub fn verify_es256(key: &p256::PublicKey, token: &str) -> Option<Value> {
    use p256::ecdsa::signature::Verifier;
    let (header, payload, input, sig) = parts(token)?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return None;
    }
    let sig = p256::ecdsa::Signature::from_slice(&sig).ok()?;
    p256::ecdsa::VerifyingKey::from(key)
        .verify(input.as_bytes(), &sig)
        .ok()?;
    Some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hs256_refuses_another_replicas_key_and_a_forged_signature() {
        let ks = KeySource::new(7);
        let (a, b) = (ks.token_key("a"), ks.token_key("b"));
        let t = sign_hs256(&a.secret, Some(&a.kid), &json!({"sub": "s"}));
        assert_eq!(
            verify_hs256(&a.secret, Some(&a.kid), &t).unwrap()["sub"],
            "s"
        );
        assert_eq!(
            verify_hs256(&b.secret, Some(&b.kid), &t),
            Err(TokenError::UnknownKey)
        );
        assert_eq!(
            verify_hs256(&b.secret, Some(&a.kid), &t),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn es256_round_trips_through_did_jwk() {
        let ids = Ids::new(3);
        let key = ids.p256();
        let did = did_jwk(&key);
        let t = sign_es256(&key, &did, &json!({"iss": did}));
        let public = did_jwk_public(&did).expect("P-256 did:jwk");
        assert_eq!(verify_es256(&public, &t).unwrap()["iss"], did.as_str());
        let other = did_jwk_public(&did_jwk(&ids.p256())).unwrap();
        assert!(verify_es256(&other, &t).is_none());
    }

    #[test]
    fn uuids_have_the_v4_layout() {
        let u = Ids::new(1).uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
