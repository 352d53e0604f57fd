//! The fake against walt.id 0.18.2's semantics, on loopback: API shapes, TTL expiry, sessions that
//! do not cross replicas in memory mode, and flows that succeed everywhere with Redis + shared keys
//! (a real `redis-server`, which CI installs from Debian: .ci/run).

use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use wd_testsupport::redis::Redis;
use wd_waltfake::{Fake, FakeConfig, SessionStore, REPLICA_HEADER};

/// A throwaway `redis-server`: the tests below need one (no skip).
fn redis() -> Redis {
    Redis::start().expect("redis-server (Debian package redis-server; .ci/run installs it)")
}

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A running fake and a client for it (no redirects followed, as walt.id's wallet).
fn start(cfg: FakeConfig) -> (Fake, Client) {
    (Fake::start(cfg).unwrap(), client())
}

/// Sending a request the way every test here does: no transport error expected.
trait Sent {
    async fn sent(self) -> Response;
    async fn json_body(self) -> Value;
    async fn text_body(self) -> String;
}

impl Sent for RequestBuilder {
    async fn sent(self) -> Response {
        self.send().await.unwrap()
    }
    async fn json_body(self) -> Value {
        self.sent().await.json().await.unwrap()
    }
    async fn text_body(self) -> String {
        self.sent().await.text().await.unwrap()
    }
}

/// The balanced URLs of the wallet, the issuer and the verifier.
fn balanced(fake: &Fake) -> (&str, &str, &str) {
    (
        &fake.wallet.balanced,
        &fake.issuer.balanced,
        &fake.verifier.balanced,
    )
}

/// Stops the fake off the async runtime (its shutdown blocks).
async fn shutdown(fake: Fake) {
    tokio::task::spawn_blocking(move || fake.shutdown())
        .await
        .unwrap();
}

/// The verifier's openid4vp:// request URL for `request_credentials`.
async fn verify_request(c: &Client, verifier: &str, request_credentials: Value) -> String {
    c.post(format!("{verifier}/openid4vc/verify"))
        .json(&json!({ "request_credentials": request_credentials }))
        .text_body()
        .await
}

/// The `state` of an openid4vp:// request URL (the verifier's session id).
fn state_of(req: &str) -> String {
    form_urlencoded::parse(req.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned()
}

/// usePresentationRequest of `req` with the `selected` credentials.
async fn present(
    c: &Client,
    wallet: &str,
    token: &str,
    w: &str,
    req: &str,
    selected: Value,
) -> Response {
    c.post(format!(
        "{wallet}/wallet-api/wallet/{w}/exchange/usePresentationRequest"
    ))
    .bearer_auth(token)
    .json(&json!({"presentationRequest": req, "selectedCredentials": selected}))
    .sent()
    .await
}

/// POST /wallet-api/auth/{register,login} with `body`.
async fn auth(c: &Client, wallet: &str, call: &str, body: Value) -> Response {
    c.post(format!("{wallet}/wallet-api/auth/{call}"))
        .json(&body)
        .sent()
        .await
}

/// A wallet user: registered and logged in on `wallet`; returns (token, wallet id).
async fn user(c: &Client, wallet: &str, email: &str) -> (String, String) {
    let r = auth(
        c,
        wallet,
        "register",
        json!({"type": "email", "name": "U", "email": email, "password": "pw"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.text().await.unwrap(), "Registration succeeded ");
    let login: Value = auth(
        c,
        wallet,
        "login",
        json!({"type": "email", "email": email, "password": "pw"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    let wallets: Value = c
        .get(format!("{wallet}/wallet-api/wallet/accounts/wallets"))
        .bearer_auth(&token)
        .json_body()
        .await;
    assert_eq!(wallets["account"], login["id"]);
    (
        token,
        wallets["wallets"][0]["id"].as_str().unwrap().to_string(),
    )
}

async fn onboard(c: &Client, issuer: &str) -> Value {
    c.post(format!("{issuer}/onboard/issuer"))
        .json(&json!({"key": {"backend": "jwk", "keyType": "secp256r1"}, "did": {"method": "jwk"}}))
        .json_body()
        .await
}

/// POST /openid4vc/jwt/issue with `body`.
async fn issue(c: &Client, issuer: &str, body: Value) -> Response {
    c.post(format!("{issuer}/openid4vc/jwt/issue"))
        .json(&body)
        .sent()
        .await
}

async fn offer(c: &Client, issuer: &str, key: &Value) -> String {
    let r = issue(c, issuer, json!({
        "issuerKey": key["issuerKey"],
        "issuerDid": key["issuerDid"],
        "credentialConfigurationId": "OpenBadgeCredential_jwt_vc_json",
        "credentialData": {"type": ["VerifiableCredential", "OpenBadgeCredential"], "credentialSubject": {"name": "x"}},
    }))
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// useOfferRequest: (status, body).
async fn claim(
    c: &Client,
    wallet: &str,
    token: &str,
    w: &str,
    offer: &str,
) -> (StatusCode, String) {
    let r = c
        .post(format!(
            "{wallet}/wallet-api/wallet/{w}/exchange/useOfferRequest"
        ))
        .bearer_auth(token)
        .body(offer.to_string())
        .sent()
        .await;
    (r.status(), r.text().await.unwrap())
}

/// A fake on `redis` with `replicas` replicas per service, walt.id's defaults otherwise.
fn on_redis(redis: &Redis, replicas: usize) -> FakeConfig {
    FakeConfig {
        replicas,
        store: SessionStore::Redis { url: redis.url() },
        ..FakeConfig::default()
    }
}

/// The TTL Redis has left on a session key, in seconds.
fn redis_ttl(redis: &Redis, key: &str) -> i64 {
    let ttl = redis.raw(&["TTL", key]);
    ttl.trim()
        .trim_start_matches(':')
        .parse()
        .unwrap_or_else(|_| panic!("TTL {key}: {ttl:?}"))
}

/// An offer made on `issuer`: its issuance session id.
async fn offered_session(c: &Client, issuer: &str, key: &Value) -> String {
    offer_session_id(&offer(c, issuer, key).await)
}

fn offer_session_id(offer: &str) -> String {
    let q = offer.split_once('?').unwrap().1;
    let uri: String = form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "credential_offer_uri")
        .unwrap()
        .1
        .into_owned();
    uri.rsplit_once("id=").unwrap().1.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_serves_every_call_with_walt_ids_shapes() {
    let (fake, c) = start(FakeConfig::default());
    let (wallet, issuer, verifier) = balanced(&fake);

    // register: 409 on an existing email, 400 without "type":"email".
    let (token, w) = user(&c, wallet, "a@example.org").await;
    let again = auth(
        &c,
        wallet,
        "register",
        json!({"type": "email", "name": "U", "email": "a@example.org", "password": "pw"}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let body: Value = again.json().await.unwrap();
    assert_eq!(
        body["message"],
        "An account with email a@example.org already exists."
    );
    let untyped = auth(
        &c,
        wallet,
        "register",
        json!({"name": "U", "email": "b@example.org", "password": "pw"}),
    )
    .await;
    assert_eq!(untyped.status(), StatusCode::BAD_REQUEST);
    let wrong = auth(
        &c,
        wallet,
        "login",
        json!({"type": "email", "email": "a@example.org", "password": "no"}),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // DIDs: register made one (the default); create/{key} adds one and answers it as text.
    let did = c
        .post(format!("{wallet}/wallet-api/wallet/{w}/dids/create/key"))
        .bearer_auth(&token)
        .text_body()
        .await;
    assert!(did.starts_with("did:"), "{did}");
    let dids: Value = c
        .get(format!("{wallet}/wallet-api/wallet/{w}/dids"))
        .bearer_auth(&token)
        .json_body()
        .await;
    assert_eq!(dids.as_array().unwrap().len(), 2);
    assert_eq!(dids[0]["default"], true);
    // Another account's token on this wallet: 403 (ensurePermissionsForWallet), on reads and writes.
    let (other, _) = user(&c, wallet, "o@example.org").await;
    for (read, path) in [
        (true, "dids"),
        (true, "credentials"),
        (false, "dids/create/key"),
    ] {
        let url = format!("{wallet}/wallet-api/wallet/{w}/{path}");
        let req = if read { c.get(url) } else { c.post(url) };
        let refused = req.bearer_auth(&other).sent().await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        let refused: Value = refused.json().await.unwrap();
        assert_eq!(
            refused["message"],
            "This account does not have access to the specified wallet."
        );
    }

    // Issuance: the offer is by reference, on the issuer's balanced baseUrl.
    let key = onboard(&c, issuer).await;
    assert!(key["issuerDid"].as_str().unwrap().starts_with("did:jwk:"));
    assert_eq!(key["issuerKey"]["jwk"]["kty"], "EC");
    let url = offer(&c, issuer, &key).await;
    let sid = offer_session_id(&url);
    assert_eq!(
        url,
        format!(
            "openid-credential-offer://?credential_offer_uri={}",
            form_urlencoded::byte_serialize(
                format!("{issuer}/draft13/credentialOffer?id={sid}").as_bytes()
            )
            .collect::<String>()
        )
    );
    let bad = issue(
        &c,
        issuer,
        json!({"issuerKey": key["issuerKey"], "issuerDid": key["issuerDid"],
            "credentialConfigurationId": "Nope_jwt_vc_json", "credentialData": {}}),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let (status, body) = claim(&c, wallet, &token, &w, &url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claimed: Value = serde_json::from_str(&body).unwrap();
    let cred_id = claimed[0]["id"].as_str().unwrap().to_string();
    let creds: Value = c
        .get(format!("{wallet}/wallet-api/wallet/{w}/credentials"))
        .bearer_auth(&token)
        .json_body()
        .await;
    assert_eq!(creds.as_array().unwrap().len(), 1);
    assert_eq!(creds[0]["parsedDocument"]["type"][1], "OpenBadgeCredential");

    // Verification: openid4vp URL → usePresentationRequest → a verdict.
    let req = verify_request(
        &c,
        verifier,
        json!([{"format": "jwt_vc_json", "type": "OpenBadgeCredential"}]),
    )
    .await;
    assert!(req.starts_with("openid4vp://authorize?"), "{req}");
    let state = state_of(&req);
    let used = present(&c, wallet, &token, &w, &req, json!([cred_id])).await;
    assert_eq!(
        used.status(),
        StatusCode::OK,
        "{}",
        used.text().await.unwrap()
    );
    let verdict: Value = c
        .get(format!("{verifier}/openid4vc/session/{state}"))
        .json_body()
        .await;
    assert_eq!(verdict["verificationResult"], true, "{verdict}");

    // A presentation without the requested credential is refused by the policies.
    let req2 = verify_request(&c, verifier, json!(["UniversityDegree"])).await;
    let refused = present(&c, wallet, &token, &w, &req2, json!([cred_id])).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let refused: Value = refused.json().await.unwrap();
    assert!(
        refused["errorMessage"]
            .as_str()
            .unwrap()
            .contains("presentation-definition"),
        "{refused}"
    );

    // An unknown session: walt.id's NotFoundException body.
    let missing = c
        .get(format!("{verifier}/openid4vc/session/nope"))
        .sent()
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let missing: Value = missing.json().await.unwrap();
    assert_eq!(
        missing["message"],
        "Id parameter nope doesn't refer to an existing session, or session expired"
    );
    drop(c);
    shutdown(fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_after_the_ttl() {
    let (fake, c) = start(FakeConfig {
        session_ttl: Duration::from_secs(2),
        ..FakeConfig::default()
    });
    let issuer = &fake.issuer.balanced;
    let key = onboard(&c, issuer).await;
    let sid = offered_session(&c, issuer, &key).await;
    let url = format!("{issuer}/draft13/credentialOffer?id={sid}");
    assert_eq!(c.get(&url).sent().await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let gone = c.get(&url).sent().await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let gone: Value = gone.json().await.unwrap();
    assert_eq!(
        gone["message"],
        "No active issuance session found by the given id"
    );
    shutdown(fake).await;
}

/// Posts a pre-authorized code to one replica's token endpoint.
async fn token_at(c: &Client, replica: &str, offer: &Value) -> (StatusCode, Value) {
    let code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
        ["pre-authorized_code"]
        .as_str()
        .unwrap();
    let r = c
        .post(format!("{replica}/draft13/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .append_pair(
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                )
                .append_pair("pre-authorized_code", code)
                .finish(),
        )
        .sent()
        .await;
    (r.status(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_mode_sessions_and_keys_stay_on_their_replica() {
    for shared in [false, true] {
        let (fake, c) = start(FakeConfig {
            replicas: 3,
            shared_ci_token_key: shared,
            shared_auth_keys: shared,
            ..FakeConfig::default()
        });
        let (r0, r1) = (&fake.issuer.replicas[0], &fake.issuer.replicas[1]);
        let key = onboard(&c, r0).await;
        let sid = offered_session(&c, r0, &key).await;
        let on_other = c
            .get(format!("{r1}/draft13/credentialOffer?id={sid}"))
            .sent()
            .await;
        assert_eq!(on_other.status(), StatusCode::NOT_FOUND);
        assert_eq!(on_other.headers()[REPLICA_HEADER], "issuer-1");
        let offer_json: Value = c
            .get(format!("{r0}/draft13/credentialOffer?id={sid}"))
            .json_body()
            .await;
        let (status, body) = token_at(&c, r1, &offer_json).await;
        if shared {
            // The key verifies; the session is still on replica 0 only (CIProvider.kt).
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(body["error"], "invalid_request");
            assert_eq!(
                body["error_description"],
                "No authorization session found for given authorization code, or session expired."
            );
        } else {
            // Another replica's random ciTokenKey: TokenVerificationError reaches StatusPages.
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(body["message"], "Could not resolve key for given token");
        }
        let (ok, _) = token_at(&c, r0, &offer_json).await;
        assert_eq!(ok, StatusCode::OK);

        // Wallet: the login token of replica 0 on replica 1.
        let (token, _) = user(&c, &fake.wallet.replicas[0], "x@example.org").await;
        let elsewhere = c
            .get(format!(
                "{}/wallet-api/wallet/accounts/wallets",
                fake.wallet.replicas[1]
            ))
            .bearer_auth(&token)
            .sent()
            .await;
        let want = if shared {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(elsewhere.status(), want);
        drop(c);
        shutdown(fake).await;
    }
}

/// Runs `n` issuance flows through the balanced URLs; returns (successes, failure messages).
async fn issuance_flows(fake: &Fake, n: usize) -> (usize, Vec<String>) {
    let c = client();
    let (wallet, issuer) = (&fake.wallet.balanced, &fake.issuer.balanced);
    // Register on replica 0 and use replica 0 for the wallet calls, so only the issuer balances.
    let (token, w) = user(&c, &fake.wallet.replicas[0], "flows@example.org").await;
    let _ = wallet;
    let key = onboard(&c, issuer).await;
    let mut ok = 0;
    let mut failures = Vec::new();
    for _ in 0..n {
        let url = offer(&c, issuer, &key).await;
        let (status, body) = claim(&c, &fake.wallet.replicas[0], &token, &w, &url).await;
        if status == StatusCode::OK {
            ok += 1;
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            failures.push(body);
        }
    }
    (ok, failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_memory_replicas_let_few_issuance_flows_through() {
    let fake = Fake::start(FakeConfig {
        replicas: 3,
        seed: 42,
        ..FakeConfig::default()
    })
    .unwrap();
    let n = 120;
    let (ok, failures) = issuance_flows(&fake, n).await;
    // (1/3)^3 ≈ 3.7 %: 4.4 expected of 120; P(more than 16) is below 1e-5 for a fair balancer.
    assert!(ok <= 16, "{ok} of {n} succeeded");
    // Every failure is one of the three session lookups, with walt.id's wallet-side message.
    let steps = [
        "Could not parse credential offer from URL",
        "Failed to get token: 500",
        "Failed to send credential request: 500",
    ];
    for f in &failures {
        assert!(steps.iter().any(|s| f.starts_with(s)), "{f}");
    }
    // …and each of the three fails somewhere, so each depends on the replica it lands on (a flow
    // fails at the 3rd with P = 2/27; none of 120 doing so has P ≈ 1e-4 for a fair balancer, and
    // the seeded balancer makes the run repeatable).
    for step in steps {
        assert!(
            failures.iter().any(|f| f.starts_with(step)),
            "no failure at {step:?}: {failures:?}"
        );
    }
    assert!(failures
        .iter()
        .any(|f| f.contains("No active issuance session found by the given id")));
    shutdown(fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_and_shared_keys_let_every_flow_through() {
    let redis = redis();
    let fake = Fake::start(FakeConfig {
        shared_ci_token_key: true,
        shared_auth_keys: true,
        seed: 7,
        ..on_redis(&redis, 3)
    })
    .unwrap();
    let (ok, failures) = issuance_flows(&fake, 30).await;
    assert_eq!((ok, failures), (30, vec![]));

    // The session is a Redis key `auth_sessions:<id>` with walt.id's 300 s TTL (SETEX).
    let c = client();
    let key = onboard(&c, &fake.issuer.balanced).await;
    let sid = offered_session(&c, &fake.issuer.balanced, &key).await;
    let secs = redis_ttl(&redis, &format!("auth_sessions:{sid}"));
    assert!((290..=300).contains(&secs), "{secs}");
    // A `sessionTtl` header is honoured in Redis (walt.id's memory cache ignores it).
    let short = c
        .post(format!("{}/openid4vc/jwt/issue", fake.issuer.balanced))
        .header("sessionTtl", "60")
        .json(&json!({
            "issuerKey": key["issuerKey"],
            "issuerDid": key["issuerDid"],
            "credentialConfigurationId": "OpenBadgeCredential_jwt_vc_json",
            "credentialData": {"type": ["VerifiableCredential", "OpenBadgeCredential"]},
        }))
        .text_body()
        .await;
    let short_key = format!("auth_sessions:{}", offer_session_id(&short));
    let secs = redis_ttl(&redis, &short_key);
    assert!((50..=60).contains(&secs), "{secs}");
    // The token step writes the session back with the time it has left, not a new 300 s
    // (CIProvider.kt generateProofOfPossessionNonceFor; store::Sessions::write_back).
    let short_offer: Value = c
        .get(format!(
            "{}/draft13/credentialOffer?id={}",
            fake.issuer.balanced,
            offer_session_id(&short)
        ))
        .json_body()
        .await;
    let (status, body) = token_at(&c, &fake.issuer.balanced, &short_offer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secs = redis_ttl(&redis, &short_key);
    assert!((50..=60).contains(&secs), "{secs}");

    // Verification across replicas: the request lands anywhere, the verdict is readable anywhere.
    let (token, w) = user(&c, &fake.wallet.balanced, "r@example.org").await;
    let url = offer(&c, &fake.issuer.balanced, &key).await;
    let (status, body) = claim(&c, &fake.wallet.balanced, &token, &w, &url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cred: Value = serde_json::from_str(&body).unwrap();
    for _ in 0..5 {
        let req = verify_request(&c, &fake.verifier.balanced, json!(["OpenBadgeCredential"])).await;
        let state = state_of(&req);
        let used = present(
            &c,
            &fake.wallet.balanced,
            &token,
            &w,
            &req,
            json!([cred[0]["id"]]),
        )
        .await;
        assert_eq!(used.status(), StatusCode::OK);
        for replica in &fake.verifier.replicas {
            let v: Value = c
                .get(format!("{replica}/openid4vc/session/{state}"))
                .json_body()
                .await;
            assert_eq!(v["verificationResult"], true);
        }
        assert!(redis
            .raw(&["EXISTS", &format!("presentation_session:{state}")])
            .starts_with(":1"));
        assert!(redis
            .raw(&["EXISTS", &format!("policy_results:{state}")])
            .starts_with(":1"));
    }
    drop(c);
    shutdown(fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_without_a_shared_ci_token_key_still_fails_across_replicas() {
    let redis = redis();
    let (fake, c) = start(on_redis(&redis, 2));
    let (r0, r1) = (&fake.issuer.replicas[0], &fake.issuer.replicas[1]);
    let key = onboard(&c, r0).await;
    let sid = offered_session(&c, r0, &key).await;
    // The session itself is visible on both replicas now…
    let offer_json: Value = c
        .get(format!("{r1}/draft13/credentialOffer?id={sid}"))
        .json_body()
        .await;
    // …but replica 1 cannot verify replica 0's pre-authorized code.
    let (status, body) = token_at(&c, r1, &offer_json).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["message"], "Could not resolve key for given token");
    drop(c);
    shutdown(fake).await;
}

#[test]
fn an_unreachable_redis_fails_start() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Fake::start(FakeConfig {
        store: SessionStore::Redis {
            url: format!("redis://127.0.0.1:{port}"),
        },
        ..FakeConfig::default()
    })
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mapping_dates_the_credential_and_the_verifier_refuses_it_expired() {
    let (fake, c) = start(FakeConfig::default());
    let (wallet, issuer, verifier) = balanced(&fake);
    let (token, w) = user(&c, wallet, "m@example.org").await;
    let key = onboard(&c, issuer).await;
    let as_text = issue(
        &c,
        issuer,
        json!({"issuerKey": key["issuerKey"].to_string(), "issuerDid": key["issuerDid"],
            "credentialConfigurationId": "OpenBadgeCredential_jwt_vc_json", "credentialData": {}}),
    )
    .await;
    assert_eq!(as_text.status(), StatusCode::BAD_REQUEST);
    let url = issue(&c, issuer, json!({
        "issuerKey": key["issuerKey"], "issuerDid": key["issuerDid"],
        "credentialConfigurationId": "OpenBadgeCredential_jwt_vc_json",
        "credentialData": {"type": ["VerifiableCredential", "OpenBadgeCredential"], "credentialSubject": {}},
        "mapping": {"id": "<uuid>", "issuanceDate": "<timestamp-before:2h>", "expirationDate": "<timestamp-before:1h>"},
    }))
    .await
    .text()
    .await
    .unwrap();
    let (status, body) = claim(&c, wallet, &token, &w, &url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cred: Value = serde_json::from_str(&body).unwrap();
    assert!(cred[0]["id"].as_str().unwrap().starts_with("urn:uuid:"));
    assert!(cred[0]["parsedDocument"]["expirationDate"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let req = verify_request(&c, verifier, json!(["OpenBadgeCredential"])).await;
    let refused = present(&c, wallet, &token, &w, &req, json!([cred[0]["id"]])).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let refused: Value = refused.json().await.unwrap();
    assert!(
        refused["errorMessage"]
            .as_str()
            .unwrap()
            .contains("expired ("),
        "{refused}"
    );
    drop(c);
    shutdown(fake).await;
}
