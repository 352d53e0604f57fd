//! The issuer (waltid-issuer-api 0.18.2), pre-authorized-code OID4VCI draft 13 only.
//!
//! Session lookups on the wallet's path, each a chance to land on a replica without the session
//! (k = 3; with r memory-mode replicas a flow succeeds with probability (1/r)^3, ≈ 3.7 % for r = 3,
//! waltid-facts §2 "~4 %"):
//! 1. `GET /draft13/credentialOffer?id=` → `getSession(id)` or 404 (issuance/OidcApi.kt);
//! 2. `POST /draft13/token` → the pre-authorized code verified with `CI_TOKEN_KEY`, then
//!    `getVerifiedSession` (issuance/CIProvider.kt `processTokenRequest`);
//! 3. `POST /draft13/credential` → the access token verified with `CI_TOKEN_KEY`, then
//!    `getSession(sub)` (issuance/OidcApi.kt).
//!
//! The metadata request (`/draft13/.well-known/openid-credential-issuer`) reads no session.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::errors;
use crate::mapping;
use crate::store::Sessions;
use crate::token::{self, Ids, TokenError, TokenKey};

/// CIProvider.kt: `ConfiguredPersistence<IssuanceSession>("auth_sessions", defaultExpiration = 5.minutes)`.
pub const DISCRIMINATOR: &str = "auth_sessions";

/// The credential types the fake advertises, from walt.id's default
/// `supportedCredentialTypes` (waltid-issuer-api/config/credential-issuer-metadata.conf); each is
/// offered as `<Name>_jwt_vc_json`.
const CREDENTIAL_TYPES: &[(&str, &[&str])] = &[
    ("BankId", &["VerifiableCredential", "BankId"]),
    (
        "KycCredential",
        &[
            "VerifiableCredential",
            "VerifiableAttestation",
            "KycCredential",
        ],
    ),
    (
        "OpenBadgeCredential",
        &["VerifiableCredential", "OpenBadgeCredential"],
    ),
    (
        "UniversityDegree",
        &["VerifiableCredential", "UniversityDegree"],
    ),
    (
        "VerifiableId",
        &[
            "VerifiableCredential",
            "VerifiableAttestation",
            "VerifiableId",
        ],
    ),
    (
        "NaturalPersonVerifiableID",
        &[
            "VerifiableCredential",
            "VerifiableAttestation",
            "NaturalPersonVerifiableID",
        ],
    ),
];

const PRE_AUTH_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

pub struct Issuer {
    /// The issuer's public `baseUrl` (the balanced URL, as in a cluster).
    pub base_url: String,
    pub sessions: Sessions,
    pub ci_key: Arc<TokenKey>,
    pub rng_seed: u64,
}

struct St {
    cfg: Issuer,
    ids: Ids,
}

type S = State<Arc<St>>;

pub fn router(cfg: Issuer) -> Router {
    let ids = Ids::new(cfg.rng_seed);
    let st = Arc::new(St { cfg, ids });
    Router::new()
        .route("/livez", get(|| async { "OK" }))
        .route("/onboard/issuer", post(onboard))
        .route("/openid4vc/jwt/issue", post(issue))
        .route(
            "/draft13/.well-known/openid-credential-issuer",
            get(metadata),
        )
        .route("/draft13/credentialOffer", get(credential_offer))
        .route("/draft13/token", post(token_endpoint))
        .route("/draft13/credential", post(credential))
        .with_state(st)
}

impl St {
    /// `metadata.issuer`: `baseUrl + "/draft13"` (CIProvider.kt).
    fn issuer_url(&self) -> String {
        format!("{}/draft13", self.cfg.base_url)
    }
}

use crate::store::now;

/// The private P-256 key of an IssuanceRequest's `issuerKey` (`{"type":"jwk","jwk":{…}}`).
fn signing_key(req: &Value) -> Option<p256::SecretKey> {
    let jwk = req.pointer("/issuerKey/jwk")?;
    p256::SecretKey::from_jwk_str(&jwk.to_string()).ok()
}

fn config_types(id: &str) -> Option<&'static [&'static str]> {
    let name = id.strip_suffix("_jwt_vc_json")?;
    CREDENTIAL_TYPES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// `POST /onboard/issuer`: a new key and a did:jwk for it (OnBoardingApi.kt; the response is an
/// IssuerOnboardingResponse `{issuerKey, issuerDid}`). The fake's keys are always P-256, whatever
/// `key.keyType` asks for.
async fn onboard(State(st): S, body: Option<Json<Value>>) -> Response {
    let body = body.map(|Json(v)| v).unwrap_or_else(|| json!({}));
    let method = body
        .pointer("/did/method")
        .and_then(Value::as_str)
        .unwrap_or("jwk");
    if method.is_empty() {
        return errors::bad_request("DID method in the request body cannot be empty");
    }
    if method != "jwk" {
        return errors::bad_request(format!(
            "Unsupported DID method: {method} (wd-waltfake onboards did:jwk only)"
        ));
    }
    let key = st.ids.p256();
    let jwk: Value = serde_json::from_str(&key.to_jwk_string()).expect("JWK is JSON");
    Json(json!({
        "issuerKey": {"type": "jwk", "jwk": jwk},
        "issuerDid": token::did_jwk(&key),
    }))
    .into_response()
}

/// `POST /openid4vc/jwt/issue`: IssuanceRequest → offer URL by reference (IssuerApi.kt
/// `createCredentialOfferUri`; CIProvider.kt `buildCredentialOfferUri`).
async fn issue(State(st): S, headers: HeaderMap, body: Option<Json<Value>>) -> Response {
    let Some(Json(req)) = body else {
        return errors::bad_request(
            "Failed to convert request body to class id.walt.issuer.issuance.IssuanceRequest",
        );
    };
    for field in [
        "issuerKey",
        "issuerDid",
        "credentialConfigurationId",
        "credentialData",
    ] {
        if req.get(field).is_none() {
            return errors::bad_request(format!(
                "Failed to convert request body to class id.walt.issuer.issuance.IssuanceRequest: Field '{field}' is required"
            ));
        }
    }
    // IssuanceRequest.issuerKey is a JSON object (a serialized key); the fake signs with P-256
    // JWKs only, so it says so here rather than at the credential step.
    if !req["issuerKey"].is_object() {
        return errors::bad_request(
            "Failed to convert request body to class id.walt.issuer.issuance.IssuanceRequest: issuerKey must be a JSON object",
        );
    }
    if signing_key(&req).is_none() {
        return errors::illegal_argument(
            "wd-waltfake signs with P-256 JWK keys only ({\"type\":\"jwk\",\"jwk\":{…}} from /onboard/issuer)",
        );
    }
    let config_id = req["credentialConfigurationId"].as_str().unwrap_or("");
    if config_types(config_id).is_none() {
        // IssuerApi.kt INVALID_CREDENTIAL_CONFIGURATION_ID, an IllegalArgumentException.
        return errors::illegal_argument("Invalid Credential Configuration Id");
    }
    let ttl = crate::session_ttl_header(&headers);
    let session_id = st.ids.uuid();
    let code = token::sign_hs256(
        &st.cfg.ci_key.secret,
        Some(&st.cfg.ci_key.kid),
        &json!({"sub": session_id, "iss": st.issuer_url(), "aud": "TOKEN"}),
    );
    let offer = json!({
        "credential_issuer": st.issuer_url(),
        "credential_configuration_ids": [config_id],
        "grants": {PRE_AUTH_GRANT: {"pre-authorized_code": code}},
    });
    let session = json!({
        "id": session_id,
        "issuanceRequests": [req],
        "credentialOffer": offer,
        "cNonce": null,
        "status": "ACTIVE",
        "isClosed": false,
        "expiresAt": st.cfg.sessions.expires_at(ttl),
    });
    if let Err(e) = st
        .cfg
        .sessions
        .set_ttl(&session_id, session.to_string(), ttl)
        .await
    {
        return e.into_response();
    }
    let offer_uri = format!("{}/credentialOffer?id={session_id}", st.issuer_url());
    let url = format!(
        "openid-credential-offer://?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("credential_offer_uri", &offer_uri)
            .finish()
    );
    (StatusCode::OK, url).into_response()
}

async fn metadata(State(st): S) -> Response {
    let issuer = st.issuer_url();
    let configs: serde_json::Map<String, Value> = CREDENTIAL_TYPES
        .iter()
        .map(|(name, types)| {
            (
                format!("{name}_jwt_vc_json"),
                json!({
                    "format": "jwt_vc_json",
                    "cryptographic_binding_methods_supported": ["did"],
                    "credential_signing_alg_values_supported": ["ES256"],
                    "credential_definition": {"type": types},
                }),
            )
        })
        .collect();
    Json(json!({
        "issuer": issuer,
        "credential_issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
        "credential_endpoint": format!("{issuer}/credential"),
        "grant_types_supported": [PRE_AUTH_GRANT],
        "credential_configurations_supported": configs,
    }))
    .into_response()
}

async fn credential_offer(State(st): S, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(id) = q.get("id") else {
        return errors::bad_request("Missing parameter \"id\"");
    };
    match st.cfg.sessions.get_json(id).await {
        Err(e) => e.into_response(),
        // OidcApi.kt: NotFoundException → 404.
        Ok(None) => errors::not_found("No active issuance session found by the given id"),
        Ok(Some(s)) => Json(s["credentialOffer"].clone()).into_response(),
    }
}

/// A token that does not verify with this replica's `CI_TOKEN_KEY`: walt.id lets the exception
/// reach StatusPages (it is neither a TokenError nor a CredentialError) → 500.
fn token_failure(e: TokenError) -> Response {
    match e {
        TokenError::UnknownKey => errors::exception(
            StatusCode::INTERNAL_SERVER_ERROR,
            "TokenVerificationError",
            "Could not resolve key for given token",
        ),
        TokenError::Invalid => errors::exception(
            StatusCode::INTERNAL_SERVER_ERROR,
            "IllegalStateException",
            "Invalid token",
        ),
    }
}

/// `TokenError.toAuthorizationErrorResponse()` / `CredentialError.toCredentialErrorResponse()`:
/// 400 `{"error","error_description"}`.
fn oauth_error(code: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

async fn token_endpoint(State(st): S, body: String) -> Response {
    let params: HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if params.get("grant_type").map(String::as_str) != Some(PRE_AUTH_GRANT) {
        return oauth_error(
            "unsupported_grant_type",
            "wd-waltfake supports the pre-authorized code grant only",
        );
    }
    let Some(code) = params.get("pre-authorized_code") else {
        return oauth_error("invalid_request", "Missing pre-authorized_code");
    };
    let payload = match token::verify_hs256(&st.cfg.ci_key.secret, Some(&st.cfg.ci_key.kid), code) {
        Ok(p) => p,
        Err(e) => return token_failure(e),
    };
    if payload["iss"] != json!(st.issuer_url()) {
        return token_failure(TokenError::Invalid);
    }
    let Some(sid) = payload["sub"].as_str() else {
        return oauth_error("invalid_request", "Token contains no session ID in subject");
    };
    let mut session =
        match st.cfg.sessions.get_json(sid).await {
            Err(e) => return e.into_response(),
            Ok(None) => return oauth_error(
                "invalid_request",
                "No authorization session found for given authorization code, or session expired.",
            ),
            Ok(Some(s)) => s,
        };
    // generateProofOfPossessionNonceFor (CIProvider.kt): a UUID nonce written back with the
    // session's remaining time (Redis honours it; in memory the TTL restarts).
    let nonce = st.ids.uuid();
    session["cNonce"] = json!(nonce);
    if let Err(e) = st.cfg.sessions.write_back(sid, &session).await {
        return e.into_response();
    }
    let access = token::sign_hs256(
        &st.cfg.ci_key.secret,
        Some(&st.cfg.ci_key.kid),
        &json!({"sub": sid, "iss": st.issuer_url(), "aud": "ACCESS"}),
    );
    Json(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": now() + 864000,
        "c_nonce": nonce,
        "c_nonce_expires_in": 300,
    }))
    .into_response()
}

async fn credential(State(st): S, headers: HeaderMap, body: String) -> Response {
    let Some(access) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' ').map(|(_, t)| t.to_string()))
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let payload =
        match token::verify_hs256(&st.cfg.ci_key.secret, Some(&st.cfg.ci_key.kid), &access) {
            Ok(p) => p,
            Err(e) => return token_failure(e),
        };
    let Ok(request) = serde_json::from_str::<Value>(&body) else {
        return errors::bad_request(
            "Failed to convert request body to class kotlinx.serialization.json.JsonObject",
        );
    };
    let sid = payload["sub"].as_str().unwrap_or_default().to_string();
    let mut session = match st.cfg.sessions.get_json(&sid).await {
        Err(e) => return e.into_response(),
        Ok(None) => return oauth_error("invalid_request", "Session not found for access token"),
        Ok(Some(s)) => s,
    };
    // Proof of possession: the wallet's JWT carries the nonce the token endpoint put in the
    // session, and names the holder in its kid.
    let proof = request
        .pointer("/proof/jwt")
        .and_then(Value::as_str)
        .and_then(token::parts);
    // generateCredentialResponse / OpenID4VCI.validateCredentialRequest (CIProvider.kt, OpenID4VCI.kt).
    if session["cNonce"].is_null() {
        return oauth_error(
            "invalid_or_missing_proof",
            "No cNonce found on current issuance session",
        );
    }
    let Some((proof_header, proof_payload, _, _)) = proof else {
        return oauth_error("invalid_or_missing_proof", "Invalid proof of possession");
    };
    if proof_payload.get("nonce") != session.get("cNonce") {
        return oauth_error("invalid_or_missing_proof", "Invalid proof of possession");
    }
    let holder = proof_header["kid"]
        .as_str()
        .and_then(|k| k.split('#').next())
        .unwrap_or("")
        .to_string();
    let req = &session["issuanceRequests"][0];
    let Some(issuer_key) = signing_key(req) else {
        return errors::illegal_argument("wd-waltfake signs with P-256 JWK keys only");
    };
    let issuer_did = req["issuerDid"].as_str().unwrap_or_default().to_string();
    let config_id = req["credentialConfigurationId"]
        .as_str()
        .unwrap_or_default();
    let mut vc = req["credentialData"].clone();
    let iat = now();
    if let Some(obj) = vc.as_object_mut() {
        obj.insert("issuer".into(), json!({"id": issuer_did}));
        obj.entry("type")
            .or_insert_with(|| json!(config_types(config_id).unwrap_or(&[])));
        if let Some(subject) = obj
            .get_mut("credentialSubject")
            .and_then(Value::as_object_mut)
        {
            subject.insert("id".into(), json!(holder));
        }
    }
    if let Some(m) = req.get("mapping") {
        let uuid = || st.ids.uuid();
        let cx = mapping::Context {
            now: iat,
            issuer_did: &issuer_did,
            subject_did: &holder,
            uuid: &uuid,
        };
        if let Err(e) = mapping::apply(&mut vc, m, &cx) {
            return oauth_error("invalid_request", &e);
        }
    }
    // The JWT claims a W3C JWT-VC carries: exp/nbf from expirationDate/issuanceDate.
    let mut claims = json!({
        "iss": issuer_did,
        "sub": holder,
        "vc": vc,
        "jti": vc.get("id").cloned().unwrap_or_else(|| json!(format!("urn:uuid:{}", st.ids.uuid()))),
        "iat": iat,
        "nbf": iat,
    });
    for (field, claim) in [("issuanceDate", "nbf"), ("expirationDate", "exp")] {
        if let Some(t) = vc[field].as_str().and_then(mapping::parse_iso8601) {
            claims[claim] = json!(t);
        }
    }
    let jwt = token::sign_es256(&issuer_key, &format!("{issuer_did}#0"), &claims);
    // updateSessionStatus(SUCCESSFUL, close = true) writes the session back with the time it
    // has left (CIProvider.kt; in memory the TTL restarts, as cache4k ignores a per-entry TTL).
    session["status"] = json!("SUCCESSFUL");
    session["isClosed"] = json!(true);
    if let Err(e) = st.cfg.sessions.write_back(&sid, &session).await {
        return e.into_response();
    }
    Json(json!({"format": "jwt_vc_json", "credential": jwt})).into_response()
}
