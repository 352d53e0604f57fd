//! The verifier (waltid-verifier-api 0.18.2), OpenID4VP `DEFAULT` profile with `direct_post`.
//!
//! `POST /openid4vc/verify` answers `openid4vp://authorize?…` carrying `presentation_definition_uri`
//! and `response_uri` on the verifier's `baseUrl` (OpenIDCredentialVerifier.kt
//! `initializeAuthorization`; OIDCVerifierService.kt `preparePresentationDefinitionUri`). Session
//! lookups after that, each a chance to land on a replica without the session (k = 2 on the
//! wallet's path, plus one per verdict poll):
//! 1. the wallet's `GET /openid4vc/pd/{id}` (VerifierApi.kt → VerifierService.getPresentationDefinition);
//! 2. the wallet's `POST /openid4vc/verify/{state}` (VerifierService.verify);
//! 3. the relying party's `GET /openid4vc/session/{id}` (VerifierService.getResult).
//!
//! A missing session is `NotFoundException("Id parameter $id doesn't refer to an existing session,
//! or session expired")` → 404 (OIDCVerifierService.kt `getSession`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::errors;
use crate::store::Sessions;
use crate::strings;
use crate::token::{self, Ids};

/// OIDCVerifierService.kt: the three `ConfiguredPersistence` discriminators, all 5 minutes.
pub const DISCRIMINATOR_SESSIONS: &str = "presentation_session";
pub const DISCRIMINATOR_INFOS: &str = "session_verification_infos";
pub const DISCRIMINATOR_RESULTS: &str = "policy_results";

/// Policies the fake evaluates.
const VP_POLICIES: &[&str] = &["signature", "presentation-definition", "holder-binding"];
const VC_POLICIES: &[&str] = &["signature", "expired", "not-before"];
/// What runs when a request names no policies (the walt.id verifier portal's defaults).
const VP_DEFAULT: &[&str] = &["signature", "presentation-definition"];
const VC_DEFAULT: &[&str] = &["signature", "expired", "not-before"];

pub struct Verifier {
    pub base_url: String,
    pub sessions: Sessions,
    pub infos: Sessions,
    pub results: Sessions,
    pub rng_seed: u64,
}

struct St {
    cfg: Verifier,
    ids: Ids,
}

type S = State<Arc<St>>;

pub fn router(cfg: Verifier) -> Router {
    let ids = Ids::new(cfg.rng_seed);
    let st = Arc::new(St { cfg, ids });
    Router::new()
        .route("/livez", get(|| async { "OK" }))
        .route("/openid4vc/verify", post(create))
        .route("/openid4vc/verify/{state}", post(respond))
        .route("/openid4vc/pd/{id}", get(presentation_definition))
        .route("/openid4vc/session/{id}", get(result))
        .with_state(st)
}

use crate::store::now;

fn no_session(id: &str) -> Response {
    errors::not_found(format!(
        "Id parameter {id} doesn't refer to an existing session, or session expired"
    ))
}

/// Policy names from `vp_policies`/`vc_policies` (strings or `{"policy": name, …}`).
fn policy_names(v: Option<&Value>, default: &[&str]) -> Result<Vec<String>, String> {
    let Some(list) = v else {
        return Ok(default.iter().map(|p| p.to_string()).collect());
    };
    let Some(items) = list.as_array() else {
        return Err("policies must be a list".into());
    };
    items
        .iter()
        .map(|p| {
            p.as_str()
                .or_else(|| p.get("policy").and_then(Value::as_str))
                .map(str::to_string)
                .ok_or_else(|| format!("Invalid policy: {p}"))
        })
        .collect()
}

async fn create(State(st): S, headers: HeaderMap, body: Option<Json<Value>>) -> Response {
    let Some(Json(body)) = body else {
        return errors::bad_request(
            "Failed to convert request body to class kotlinx.serialization.json.JsonObject",
        );
    };
    let Some(requested) = body.get("request_credentials").and_then(Value::as_array) else {
        return errors::bad_request("Field request_credentials is required");
    };
    let mut types = Vec::new();
    for r in requested {
        let t = r
            .as_str()
            .or_else(|| r.get("type").and_then(Value::as_str))
            .or_else(|| r.get("credential_type").and_then(Value::as_str));
        match t {
            Some(t) => types.push(t.to_string()),
            None => return errors::illegal_argument(format!("Invalid requested credential: {r}")),
        }
    }
    let (vp, vc) = match (
        policy_names(body.get("vp_policies"), VP_DEFAULT),
        policy_names(body.get("vc_policies"), VC_DEFAULT),
    ) {
        (Ok(vp), Ok(vc)) => (vp, vc),
        (Err(e), _) | (_, Err(e)) => return errors::illegal_argument(e),
    };
    for (names, known) in [(&vp, VP_POLICIES), (&vc, VC_POLICIES)] {
        if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
            return errors::illegal_argument(format!(
                "wd-waltfake does not implement the policy {unknown:?} (it has {known:?})"
            ));
        }
    }
    let id = headers
        .get("stateId")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| st.ids.uuid());
    let base = &st.cfg.base_url;
    let pd = json!({
        "id": st.ids.nonce(),
        "input_descriptors": types.iter().map(|t| json!({
            "id": t,
            "format": {"jwt_vc_json": {"alg": ["ES256"]}},
            "constraints": {"fields": [{"path": ["$.vc.type"], "filter": {"type": "string", "pattern": t}}]},
        })).collect::<Vec<_>>(),
    });
    let nonce = st.ids.nonce();
    let ttl = crate::session_ttl_header(&headers);
    let client_id = format!("{base}/openid4vc/verify");
    let session = json!({
        "id": id,
        "presentationDefinition": pd,
        "nonce": nonce,
        "clientId": client_id,
        "tokenResponse": null,
        "verificationResult": null,
        "expiresAt": st.cfg.sessions.expires_at(ttl),
    });
    let infos = json!({
        "vpPolicies": vp,
        "vcPolicies": vc,
        "successRedirectUri": headers.get("successRedirectUri").and_then(|v| v.to_str().ok()),
        "errorRedirectUri": headers.get("errorRedirectUri").and_then(|v| v.to_str().ok()),
    });
    if let Err(e) = st.cfg.sessions.set_ttl(&id, session.to_string(), ttl).await {
        return e.into_response();
    }
    if let Err(e) = st.cfg.infos.set(&id, infos.to_string()).await {
        return e.into_response();
    }
    let authorize = headers
        .get("authorizeBaseUrl")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("openid4vp://authorize");
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "vp_token")
        .append_pair("client_id", &client_id)
        .append_pair("response_mode", "direct_post")
        .append_pair("state", &id)
        .append_pair(
            "presentation_definition_uri",
            &format!("{base}/openid4vc/pd/{id}"),
        )
        .append_pair("client_id_scheme", "redirect_uri")
        .append_pair("nonce", &nonce)
        .append_pair("response_uri", &format!("{base}/openid4vc/verify/{id}"))
        .finish();
    (StatusCode::OK, format!("{authorize}?{query}")).into_response()
}

async fn presentation_definition(State(st): S, Path(id): Path<String>) -> Response {
    match st.cfg.sessions.get_json(&id).await {
        Err(e) => e.into_response(),
        Ok(None) => no_session(&id),
        Ok(Some(s)) => Json(s["presentationDefinition"].clone()).into_response(),
    }
}

/// One policy's outcome, shaped like walt.id's PolicyResult.
fn outcome(policy: &str, error: Option<String>) -> Value {
    json!({"policy": policy, "is_success": error.is_none(), "error": error})
}

fn vc_types(vc_payload: &Value) -> Vec<String> {
    strings(&vc_payload["vc"]["type"])
}

/// Evaluates the policies on a JWT VP; returns the policy results document and the verdict.
fn evaluate(vp_token: &str, session: &Value, infos: &Value) -> (Value, bool) {
    let vp = token::parts(vp_token);
    let holder = vp
        .as_ref()
        .and_then(|(_, p, _, _)| p["iss"].as_str().map(str::to_string))
        .unwrap_or_default();
    let vcs: Vec<String> = vp
        .as_ref()
        .and_then(|(_, p, _, _)| p.pointer("/vp/verifiableCredential").cloned())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let mut ok = vp.is_some();
    let mut vp_results = Vec::new();
    for p in strings(&infos["vpPolicies"]) {
        let error = match p.as_str() {
            "signature" => token::did_jwk_public(&holder)
                .and_then(|k| token::verify_es256(&k, vp_token))
                .filter(|payload| payload.get("nonce") == session.get("nonce"))
                .is_none()
                .then(|| "the presentation's signature or nonce does not verify".to_string()),
            "presentation-definition" => {
                let have: Vec<String> = vcs
                    .iter()
                    .filter_map(|v| token::parts(v))
                    .flat_map(|(_, p, _, _)| vc_types(&p))
                    .collect();
                let missing: Vec<String> = session
                    .pointer("/presentationDefinition/input_descriptors")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|d| d["id"].as_str())
                            .filter(|t| !have.iter().any(|h| h == t))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                (!missing.is_empty()).then(|| format!("missing credentials: {missing:?}"))
            }
            _ => {
                // holder-binding: every credential's subject is the presenter.
                let bad = vcs.iter().any(|v| {
                    token::parts(v).map(|(_, p, _, _)| p["sub"].as_str() != Some(holder.as_str()))
                        != Some(false)
                });
                bad.then(|| "a credential's subject is not the holder".to_string())
            }
        };
        ok &= error.is_none();
        vp_results.push(outcome(&p, error));
    }
    let mut results =
        vec![json!({"credential": "VerifiablePresentation", "policyResults": vp_results})];
    for vc in &vcs {
        let parsed = token::parts(vc);
        let payload = parsed
            .as_ref()
            .map(|(_, p, _, _)| p.clone())
            .unwrap_or(Value::Null);
        let mut vc_results = Vec::new();
        for p in strings(&infos["vcPolicies"]) {
            let error = match p.as_str() {
                "signature" => payload["iss"]
                    .as_str()
                    .and_then(token::did_jwk_public)
                    .and_then(|k| token::verify_es256(&k, vc))
                    .is_none()
                    .then(|| "the credential's signature does not verify".to_string()),
                "expired" => payload["exp"]
                    .as_u64()
                    .filter(|e| *e <= now())
                    .map(|e| format!("expired at {e}")),
                _ => payload["nbf"]
                    .as_u64()
                    .filter(|n| *n > now())
                    .map(|n| format!("not valid before {n}")),
            };
            ok &= error.is_none();
            vc_results.push(outcome(&p, error));
        }
        let name = vc_types(&payload).last().cloned().unwrap_or_default();
        results.push(json!({"credential": name, "policyResults": vc_results}));
    }
    (json!({"results": results, "time": now()}), ok)
}

async fn respond(State(st): S, Path(id): Path<String>, body: String) -> Response {
    let mut session = match st.cfg.sessions.get_json(&id).await {
        Err(e) => return e.into_response(),
        Ok(None) => return no_session(&id),
        Ok(Some(s)) => s,
    };
    let params: std::collections::HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let Some(vp_token) = params.get("vp_token") else {
        return errors::illegal_argument("Illegal tokenResponse.vpToken: null");
    };
    let infos = match st.cfg.infos.get_json(&id).await {
        Err(e) => return e.into_response(),
        Ok(None) => {
            return errors::not_found(format!(
                "No session verification information found for session id: {id}"
            ))
        }
        Ok(Some(i)) => i,
    };
    let (policy_results, ok) = evaluate(vp_token, &session, &infos);
    session["tokenResponse"] = json!({
        "vp_token": vp_token,
        "presentation_submission": params.get("presentation_submission").and_then(|s| serde_json::from_str::<Value>(s).ok()),
        "state": params.get("state"),
    });
    session["verificationResult"] = json!(ok);
    if let Err(e) = st.cfg.results.set(&id, policy_results.to_string()).await {
        return e.into_response();
    }
    // OpenIDCredentialVerifier.verify writes the session back with its remaining time.
    if let Err(e) = st.cfg.sessions.write_back(&id, &session).await {
        return e.into_response();
    }
    if ok {
        match infos["successRedirectUri"].as_str() {
            Some(u) => Json(json!({"redirect_uri": u.replace("$id", &id)})).into_response(),
            None => StatusCode::OK.into_response(),
        }
    } else {
        let failed: Vec<String> = policy_results["results"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["policyResults"].as_array().cloned().unwrap_or_default())
            .filter(|p| p["is_success"] == json!(false))
            .map(|p| {
                format!(
                    "{} ({})",
                    p["policy"].as_str().unwrap_or(""),
                    p["error"].as_str().unwrap_or("")
                )
            })
            .collect();
        let message = format!(
            "Verification policies did not succeed: {}",
            failed.join(", ")
        );
        match infos["errorRedirectUri"].as_str() {
            Some(u) => (
                StatusCode::BAD_REQUEST,
                Json(json!({"error_uri": u.replace("$id", &id)})),
            )
                .into_response(),
            None => errors::exception(
                StatusCode::BAD_REQUEST,
                "FailedVerificationException",
                message,
            ),
        }
    }
}

/// `GET /openid4vc/session/{id}`: PresentationSessionInfo (verifier oidc/PresentationSessionInfo.kt).
async fn result(State(st): S, Path(id): Path<String>) -> Response {
    let session = match st.cfg.sessions.get_json(&id).await {
        Err(e) => return e.into_response(),
        Ok(None) => return no_session(&id),
        Ok(Some(s)) => s,
    };
    let policy_results = match st.cfg.results.get_json(&id).await {
        Err(e) => return e.into_response(),
        Ok(p) => p,
    };
    Json(json!({
        "id": session["id"],
        "presentationDefinition": session["presentationDefinition"],
        "tokenResponse": session["tokenResponse"],
        "verificationResult": session["verificationResult"],
        "policyResults": policy_results,
        "customParameters": {},
    }))
    .into_response()
}
