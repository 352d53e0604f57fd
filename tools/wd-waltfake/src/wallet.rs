//! The wallet (waltid-wallet-api 0.18.2) under `/wallet-api`, the calls of waltid-facts §2
//! "Load-test API".
//!
//! Accounts, wallets, DIDs (with their keys) and credentials live in one [`WalletDb`] shared by
//! every replica (the shared Postgres). Each replica signs login tokens HS256 with its own
//! auth.conf `tokenKey` unless the keys are shared (wallet-api web/controllers/auth/AuthController.kt
//! `doLogin`/`verifyToken`); a token from another key is refused by Ktor's bearer auth: 401, no body.
//! The login rate limit (30 a minute per email) is per replica, like Ktor's RateLimit plugin
//! (LoginControllerBase.kt): 429, no body.
//!
//! The exchange calls reach the issuer and verifier server-side through the URLs in the offer or
//! request (the balanced ones), without following redirects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::errors;
use crate::mapping::iso8601;
use crate::strings;
use crate::token::{self, Ids};

/// Ktor RateLimit on the login route: 30 requests per 60 s per email, per pod (waltid-facts §2).
const LOGIN_LIMIT: usize = 30;
const LOGIN_WINDOW: Duration = Duration::from_secs(60);

struct Did {
    did: String,
    alias: String,
    key: p256::SecretKey,
    default: bool,
    created: u64,
}

struct WalletData {
    id: String,
    name: String,
    created: u64,
    dids: Vec<Did>,
    credentials: Vec<Value>,
}

struct Account {
    id: String,
    salt: [u8; 16],
    password_hash: Vec<u8>,
    wallet: String,
}

#[derive(Default)]
struct Db {
    accounts: HashMap<String, Account>,
    account_by_id: HashMap<String, String>,
    wallets: HashMap<String, WalletData>,
}

/// The store every wallet replica shares.
#[derive(Default)]
pub struct WalletDb(Mutex<Db>);

pub struct Wallet {
    db: Arc<WalletDb>,
    token_key: Arc<Vec<u8>>,
    http: reqwest::Client,
    ids: Ids,
    logins: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Wallet {
    pub fn new(
        db: Arc<WalletDb>,
        token_key: Arc<Vec<u8>>,
        http: reqwest::Client,
        seed: u64,
    ) -> Self {
        Wallet {
            db,
            token_key,
            http,
            ids: Ids::new(seed),
            logins: Mutex::new(HashMap::new()),
        }
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Db> {
        self.db.0.lock().expect("wallet db")
    }
}

type S = State<Arc<Wallet>>;

/// The authenticated account id, put in by [`auth`].
#[derive(Clone)]
struct AccountId(String);

pub fn router(w: Wallet) -> Router {
    let st = Arc::new(w);
    let authed = Router::new()
        .route("/wallet-api/wallet/accounts/wallets", get(list_wallets))
        .route("/wallet-api/wallet/{w}/dids", get(list_dids))
        .route(
            "/wallet-api/wallet/{w}/dids/create/{method}",
            post(create_did),
        )
        .route("/wallet-api/wallet/{w}/credentials", get(list_credentials))
        .route(
            "/wallet-api/wallet/{w}/exchange/useOfferRequest",
            post(use_offer),
        )
        .route(
            "/wallet-api/wallet/{w}/exchange/usePresentationRequest",
            post(use_presentation),
        )
        .route_layer(axum::middleware::from_fn_with_state(st.clone(), auth));
    Router::new()
        .route("/livez", get(|| async { "OK" }))
        .route("/wallet-api/auth/register", post(register))
        .route("/wallet-api/auth/login", post(login))
        .merge(authed)
        .with_state(st)
}

use crate::store::now;

fn hash(salt: &[u8], password: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(password.as_bytes());
    h.finalize().to_vec()
}

/// Ktor's bearer authentication: a token this replica's key does not verify → 401, no body.
async fn auth(State(st): S, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let account = token
        .and_then(|t| token::verify_hs256(&st.token_key, None, &t).ok())
        .and_then(|p| p["sub"].as_str().map(str::to_string))
        .filter(|id| st.db().account_by_id.contains_key(id));
    match account {
        Some(id) => {
            req.extensions_mut().insert(AccountId(id));
            next.run(req).await
        }
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// `call.receive<AccountRequest>()` failing: Ktor's BadRequestException → 400.
fn bad_account_request() -> Response {
    errors::bad_request(
        "Failed to convert request body to class id.walt.webwallet.web.model.AccountRequest",
    )
}

/// Reads an EmailAccountRequest (`{"type":"email", …}`).
fn email_request(body: &str, fields: &[&str]) -> Option<Value> {
    let v: Value = serde_json::from_str(body).ok()?;
    if v["type"] != json!("email") {
        return None;
    }
    fields.iter().all(|f| v[*f].is_string()).then_some(v)
}

fn conflict(message: String) -> Response {
    errors::exception(StatusCode::CONFLICT, "ConflictException", message)
}

fn unauthorized(message: String) -> Response {
    errors::exception(StatusCode::UNAUTHORIZED, "UnauthorizedException", message)
}

fn new_did(ids: &Ids, default: bool) -> Did {
    let key = ids.p256();
    Did {
        did: token::did_jwk(&key),
        alias: "Onboarding".into(),
        key,
        default,
        created: now(),
    }
}

/// `POST auth/register` → 201 "Registration succeeded " (RegisterControllerBase.kt); 409 when the
/// email exists (EmailAccountStrategy.kt); `name` is optional (EmailAccountRequest). Creates the
/// account, its wallet, a key and a DID. Timestamps are ISO-8601, as kotlinx serializes Instants.
async fn register(State(st): S, body: String) -> Response {
    let Some(req) = email_request(&body, &["email", "password"]) else {
        return bad_account_request();
    };
    let email = req["email"].as_str().unwrap_or_default().to_string();
    let account_id = st.ids.uuid();
    let wallet_id = st.ids.uuid();
    let salt = st.ids.bytes::<16>();
    let did = new_did(&st.ids, true);
    let mut db = st.db();
    if db.accounts.contains_key(&email) {
        return conflict(format!("An account with email {email} already exists."));
    }
    db.wallets.insert(
        wallet_id.clone(),
        WalletData {
            id: wallet_id.clone(),
            name: format!("Wallet of {}", req["name"].as_str().unwrap_or(&email)),
            created: now(),
            dids: vec![did],
            credentials: Vec::new(),
        },
    );
    db.account_by_id.insert(account_id.clone(), email.clone());
    db.accounts.insert(
        email.clone(),
        Account {
            id: account_id,
            salt,
            password_hash: hash(&salt, req["password"].as_str().unwrap_or_default()),
            wallet: wallet_id,
        },
    );
    (StatusCode::CREATED, "Registration succeeded ").into_response()
}

/// `POST auth/login` → 200 `{"id","token","username"}` (AuthController.kt `doLogin`).
async fn login(State(st): S, body: String) -> Response {
    let Some(req) = email_request(&body, &["email", "password"]) else {
        return errors::exception(
            StatusCode::BAD_REQUEST,
            "LoginRequestError",
            "Failed to parse JSON string: the body is not an EmailAccountRequest",
        );
    };
    let email = req["email"].as_str().unwrap_or_default().to_string();
    {
        let mut logins = st.logins.lock().expect("login limiter");
        let seen = logins.entry(email.clone()).or_default();
        seen.retain(|t| t.elapsed() < LOGIN_WINDOW);
        if seen.len() >= LOGIN_LIMIT {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", LOGIN_WINDOW.as_secs().to_string())],
            )
                .into_response();
        }
        seen.push(Instant::now());
    }
    let account_id = {
        let db = st.db();
        let Some(account) = db.accounts.get(&email) else {
            return unauthorized(format!("Unknown user \"{email}\"."));
        };
        let password = req["password"].as_str().unwrap_or_default();
        if hash(&account.salt, password) != account.password_hash {
            return unauthorized(format!("Invalid password for \"{email}\"!"));
        }
        account.id.clone()
    };
    let iat = now();
    let token = token::sign_hs256(
        &st.token_key,
        None,
        &json!({
            "jti": st.ids.uuid(),
            "sub": account_id,
            "iss": "http://localhost:7001",
            "aud": "n/a",
            "iat": iat,
            "nbf": iat,
            "exp": iat + 86400,
        }),
    );
    Json(json!({"id": account_id, "token": token, "username": email})).into_response()
}

/// The wallet `w` if the account may use it (AuthController.kt `ensurePermissionsForWallet`);
/// `None` is answered with [`forbidden`].
fn owned_wallet<'a>(db: &'a mut Db, account: &str, w: &str) -> Option<&'a mut WalletData> {
    let owns = db
        .account_by_id
        .get(account)
        .and_then(|email| db.accounts.get(email))
        .is_some_and(|a| a.wallet == w);
    db.wallets.get_mut(w).filter(|_| owns)
}

fn forbidden() -> Response {
    errors::exception(
        StatusCode::FORBIDDEN,
        "ForbiddenException",
        "This account does not have access to the specified wallet.",
    )
}

async fn list_wallets(
    State(st): S,
    Extension(AccountId(account)): Extension<AccountId>,
) -> Response {
    let db = st.db();
    let email = &db.account_by_id[&account];
    let wallet = &db.wallets[&db.accounts[email].wallet];
    Json(json!({
        "account": account,
        "wallets": [{
            "id": wallet.id,
            "name": wallet.name,
            "createdOn": iso8601(wallet.created),
            "addedOn": iso8601(wallet.created),
            "permission": "ADMINISTRATE",
        }],
    }))
    .into_response()
}

fn did_json(d: &Did) -> Value {
    json!({
        "did": d.did,
        "alias": d.alias,
        "document": {"id": d.did},
        "keyId": format!("{}#0", d.did),
        "default": d.default,
        "createdOn": iso8601(d.created),
    })
}

/// `GET wallet/{w}/dids` and `GET wallet/{w}/credentials`: one list of the wallet as JSON.
fn wallet_list(
    st: &Wallet,
    account: &str,
    w: &str,
    list: impl FnOnce(&WalletData) -> Value,
) -> Response {
    match owned_wallet(&mut st.db(), account, w) {
        Some(wallet) => Json(list(wallet)).into_response(),
        None => forbidden(),
    }
}

async fn list_dids(
    State(st): S,
    Extension(AccountId(account)): Extension<AccountId>,
    Path(w): Path<String>,
) -> Response {
    wallet_list(&st, &account, &w, |wallet| {
        Value::Array(wallet.dids.iter().map(did_json).collect())
    })
}

/// `POST wallet/{w}/dids/create/{method}` → the new DID as text (DidCreation.kt). The fake makes
/// did:jwk identifiers (P-256) for every method.
async fn create_did(
    State(st): S,
    Extension(AccountId(account)): Extension<AccountId>,
    Path((w, method)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !["key", "jwk", "web"].contains(&method.as_str()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut did = new_did(&st.ids, false);
    if let Some(alias) = q.get("alias") {
        did.alias = alias.clone();
    }
    let text = did.did.clone();
    match owned_wallet(&mut st.db(), &account, &w) {
        Some(wallet) => wallet.dids.push(did),
        None => return forbidden(),
    }
    (StatusCode::OK, text).into_response()
}

async fn list_credentials(
    State(st): S,
    Extension(AccountId(account)): Extension<AccountId>,
    Path(w): Path<String>,
) -> Response {
    wallet_list(&st, &account, &w, |wallet| {
        Value::Array(wallet.credentials.clone())
    })
}

/// The DID to act as and its key: `did` if given, else the default, else the first.
fn pick_did(wallet: &WalletData, did: Option<&str>) -> Option<(String, p256::SecretKey)> {
    let dids = &wallet.dids;
    let d = match did {
        Some(want) => dids.iter().find(|d| d.did == want)?,
        None => dids.iter().find(|d| d.default).or_else(|| dids.first())?,
    };
    Some((d.did.clone(), d.key.clone()))
}

const FORM: &str = "application/x-www-form-urlencoded";

/// An `application/x-www-form-urlencoded` body.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A failed exchange step: walt.id's ExchangeController answers 400 with the exception's message
/// as a text body (`call.respond(BadRequest, error.message)`).
fn exchange_failure(message: String) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// The issuer side of `useOfferRequest`, one step per OpenID4VCI.kt call, with its messages.
async fn claim(
    st: &Wallet,
    offer_url: &str,
    did: &str,
    key: &p256::SecretKey,
) -> Result<String, String> {
    let query = offer_url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let offer: Value = if let Some(uri) = params.get("credential_offer_uri") {
        let res = st
            .http
            .get(uri)
            .send()
            .await
            .map_err(|e| format!("Could not resolve credential offer from URL ({e}): {uri}"))?;
        let text = res.text().await.unwrap_or_default();
        serde_json::from_str::<Value>(&text)
            .ok()
            .filter(|v| v.get("credential_issuer").is_some())
            .ok_or_else(|| {
                format!("Could not parse credential offer from URL (\"{uri}\") result: \"{text}\"")
            })?
    } else if let Some(inline) = params.get("credential_offer") {
        serde_json::from_str(inline)
            .map_err(|e| format!("Could not parse credential offer: {e}"))?
    } else {
        return Err("Credential Offer does not contain a Credential Offer Object nor a Credential Offer URI".into());
    };
    let issuer = offer["credential_issuer"].as_str().unwrap_or_default();
    let metadata: Value = st
        .http
        .get(format!("{issuer}/.well-known/openid-credential-issuer"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| format!("Could not parse the issuer metadata: {e}"))?;
    let code = offer
        .pointer("/grants/urn:ietf:params:oauth:grant-type:pre-authorized_code/pre-authorized_code")
        .and_then(Value::as_str)
        .ok_or("The offer has no pre-authorized code")?;
    let token_endpoint = metadata["token_endpoint"].as_str().unwrap_or_default();
    let res = st
        .http
        .post(token_endpoint)
        .header("content-type", FORM)
        .body(form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            ),
            ("pre-authorized_code", code),
        ]))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("Failed to get token: {} - {text}", status.as_u16()));
    }
    let token: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let access = token["access_token"].as_str().unwrap_or_default();
    let config_id = offer["credential_configuration_ids"][0]
        .as_str()
        .unwrap_or_default();
    let types = metadata
        .pointer(&format!(
            "/credential_configurations_supported/{config_id}/credential_definition/type"
        ))
        .cloned()
        .unwrap_or(json!([]));
    let proof = token::sign_es256(
        key,
        &format!("{did}#0"),
        &json!({"iss": did, "aud": issuer, "iat": now(), "nonce": token["c_nonce"]}),
    );
    let res = st
        .http
        .post(metadata["credential_endpoint"].as_str().unwrap_or_default())
        .bearer_auth(access)
        .json(&json!({
            "format": "jwt_vc_json",
            "credential_definition": {"type": types},
            "proof": {"proof_type": "jwt", "jwt": proof},
        }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!(
            "Failed to send credential request: {} - {text}",
            status.as_u16()
        ));
    }
    let body: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    body["credential"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("No credential was returned from credentialEndpoint: {text}"))
}

/// `POST wallet/{w}/exchange/useOfferRequest` (text body: the offer URL) → 200 the new
/// credentials, or 400 with the failing step's message (ExchangeController.kt).
async fn use_offer(
    State(st): S,
    Extension(AccountId(account)): Extension<AccountId>,
    Path(w): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let picked = match owned_wallet(&mut st.db(), &account, &w) {
        Some(wallet) => pick_did(wallet, q.get("did").map(String::as_str)),
        None => return forbidden(),
    };
    let Some((did, key)) = picked else {
        return errors::illegal_argument("No DID to use supplied and no DID was found in wallet.");
    };
    let jwt = match claim(&st, body.trim(), &did, &key).await {
        Ok(j) => j,
        Err(message) => return exchange_failure(message),
    };
    let parsed = token::parts(&jwt)
        .map(|(_, p, _, _)| p)
        .unwrap_or(Value::Null);
    let id = parsed["jti"].as_str().unwrap_or_default().to_string();
    let credential = json!({
        "wallet": w,
        "id": id,
        "document": jwt,
        "disclosures": null,
        "addedOn": iso8601(now()),
        "manifest": null,
        "deletedOn": null,
        "pending": false,
        "format": "jwt_vc_json",
        "parsedDocument": parsed["vc"],
    });
    st.db()
        .wallets
        .get_mut(&w)
        .expect("checked")
        .credentials
        .push(credential.clone());
    Json(json!([credential])).into_response()
}

/// `POST wallet/{w}/exchange/usePresentationRequest` `{"did"?, "presentationRequest",
/// "selectedCredentials"}` (SSIKit2WalletService.kt `usePresentationRequest`).
async fn use_presentation(
    State(st): S,
    Extension(AccountId(account)): Extension<AccountId>,
    Path(w): Path<String>,
    body: String,
) -> Response {
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return errors::bad_request(
            "Failed to convert request body to class UsePresentationRequest",
        );
    };
    let Some(request_url) = req["presentationRequest"].as_str() else {
        return errors::bad_request("Failed to convert request body to class UsePresentationRequest: Field 'presentationRequest' is required");
    };
    let selected = strings(&req["selectedCredentials"]);
    let (did, key, documents) = {
        let mut db = st.db();
        let Some(wallet) = owned_wallet(&mut db, &account, &w) else {
            return forbidden();
        };
        let Some((did, key)) = pick_did(wallet, req["did"].as_str()) else {
            return errors::illegal_argument("No DID to use supplied");
        };
        let documents: Vec<Value> = wallet
            .credentials
            .iter()
            .filter(|c| {
                c["id"]
                    .as_str()
                    .is_some_and(|id| selected.iter().any(|s| s == id))
            })
            .map(|c| c["document"].clone())
            .collect();
        (did, key, documents)
    };
    let query = request_url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    // The presentation definition, by value or by reference. An error body from the verifier does
    // not deserialize as a PresentationDefinition; kotlinx's MissingFieldException (an
    // IllegalArgumentException) reaches StatusPages → 400 (message shape inferred from kotlinx).
    let pd: Value = if let Some(inline) = params.get("presentation_definition") {
        serde_json::from_str(inline).unwrap_or(Value::Null)
    } else if let Some(uri) = params.get("presentation_definition_uri") {
        match st.http.get(uri).send().await {
            Ok(res) => res.json().await.unwrap_or(Value::Null),
            Err(e) => {
                return errors::exception(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ConnectException",
                    e.to_string(),
                )
            }
        }
    } else {
        Value::Null
    };
    if pd.get("input_descriptors").is_none() || pd.get("id").is_none() {
        return errors::exception(
            StatusCode::BAD_REQUEST,
            "MissingFieldException",
            "Fields [id, input_descriptors] are required for type with serial name 'id.walt.oid4vc.data.dif.PresentationDefinition', but they were missing at path: $",
        );
    }
    let Some(response_uri) = params
        .get("response_uri")
        .or_else(|| params.get("redirect_uri"))
    else {
        return errors::illegal_argument(
            "No response_uri or redirect_uri found on authorization request",
        );
    };
    let vp = token::sign_es256(
        &key,
        &format!("{did}#0"),
        &json!({
            "iss": did,
            "sub": did,
            "aud": params.get("client_id"),
            "nonce": params.get("nonce"),
            "iat": now(),
            "jti": format!("urn:uuid:{}", st.ids.uuid()),
            "vp": {
                "@context": ["https://www.w3.org/2018/credentials/v1"],
                "type": ["VerifiablePresentation"],
                "holder": did,
                "verifiableCredential": documents,
            },
        }),
    );
    let submission = json!({
        "id": st.ids.uuid(),
        "definition_id": pd["id"],
        "descriptor_map": documents.iter().enumerate().map(|(i, _)| json!({
            "id": pd["input_descriptors"][i]["id"],
            "format": "jwt_vp",
            "path": "$",
            "path_nested": {"format": "jwt_vc_json", "path": format!("$.verifiableCredential[{i}]")},
        })).collect::<Vec<_>>(),
    });
    let state = params.get("state").cloned().unwrap_or_default();
    let res = match st
        .http
        .post(response_uri)
        .header("content-type", FORM)
        .body(form(&[
            ("vp_token", vp.as_str()),
            ("presentation_submission", &submission.to_string()),
            ("state", &state),
        ]))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            return errors::exception(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ConnectException",
                e.to_string(),
            )
        }
    };
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    let body_json: Option<Value> = serde_json::from_str(&text).ok();
    let url_in = |k: &str| {
        body_json
            .as_ref()
            .and_then(|b| b[k].as_str())
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .map(str::to_string)
    };
    if let Some(u) = url_in("redirect_uri") {
        return Json(json!({"redirectUri": u})).into_response();
    }
    if let Some(u) = url_in("error_uri") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"redirectUri": u, "errorMessage": "Presentation failed - redirecting to error page"})),
        )
            .into_response();
    }
    if status.is_success() || status.as_u16() == 302 {
        return Json(json!({"redirectUri": null})).into_response();
    }
    let message = match &body_json {
        Some(b) => b["message"]
            .as_str()
            .unwrap_or("Presentation failed")
            .to_string(),
        None => text,
    };
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"redirectUri": null, "errorMessage": message})),
    )
        .into_response()
}
