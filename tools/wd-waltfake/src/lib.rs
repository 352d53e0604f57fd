//! wd-waltfake: a multi-replica fake of walt.id 0.18.2's issuer, verifier and wallet, faithful to
//! their SESSION semantics (../shared/waltid-facts.md §2 "Replicas", "Load-test API"), for tests
//! and demos of what breaks when the services run with more than one replica.
//!
//! What is modelled, and where walt.id 0.18.2 decides it (paths in github.com/walt-id/waltid-identity
//! at tag v0.18.2):
//! - issuer sessions (`auth_sessions`) and verifier sessions (`presentation_session`,
//!   `session_verification_infos`, `policy_results`) in per-replica memory with a 5-minute
//!   expire-after-write TTL, or in a real Redis with `SETEX <discriminator>:<id>`
//!   (waltid-service-commons/.../persistence/{InMemory,Redis,Configured}Persistence.kt);
//! - the issuer's `ciTokenKey`, random per process unless configured (CIProvider.kt `CI_TOKEN_KEY`):
//!   pre-authorized codes and access tokens signed by one replica fail on another;
//! - the wallet's login tokens, signed with the replica's `auth.conf` tokenKey;
//!   accounts, wallets, DIDs and credentials in one store shared by every wallet replica
//!   (the shared Postgres);
//! - a balancer per service that picks a replica at random for every request, seeded, like
//!   kube-proxy's iptables mode does for every new connection.
//!
//! Every replica answers with the header `x-waltfake-replica: <service>-<index>` so a test can see
//! which replica served a step (a real Service gives no such header).

mod balancer;
pub mod cli;
mod errors;
mod issuer;
mod mapping;
mod store;
mod token;
mod verifier;
mod wallet;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use store::SessionStore;

/// The header every replica adds to its responses: `<service>-<index>` (0-based).
pub const REPLICA_HEADER: &str = "x-waltfake-replica";

/// How the fake runs.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Replicas per service (issuer, verifier and wallet each get this many).
    pub replicas: usize,
    /// Where issuer and verifier sessions live.
    pub store: SessionStore,
    /// One `ciTokenKey` for every issuer replica (walt.id: `ciTokenKey` in issuer-service.conf);
    /// false = a new random key per replica, walt.id's default.
    pub shared_ci_token_key: bool,
    /// Identical wallet `auth.conf` keys on every wallet replica (one Secret); false = each
    /// replica signs login tokens with its own key.
    pub shared_auth_keys: bool,
    /// Session TTL; walt.id's is 5 minutes (CIProvider.kt and OIDCVerifierService.kt,
    /// `defaultExpiration = 5.minutes`; waltid-facts §2 "Replicas").
    pub session_ttl: Duration,
    /// Seed of the balancers' replica choice and of every key and id the fake generates.
    pub seed: u64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            replicas: 1,
            store: SessionStore::Memory,
            shared_ci_token_key: false,
            shared_auth_keys: false,
            session_ttl: Duration::from_secs(300),
            seed: 1,
        }
    }
}

/// One service: the balanced URL (what a Kubernetes Service gives) and one URL per replica (what
/// port-forwards to single pods give).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Service {
    pub balanced: String,
    pub replicas: Vec<String>,
}

/// A running fake; stop it with [`Fake::shutdown`] (dropping it stops it too).
#[derive(Debug)]
pub struct Fake {
    pub issuer: Service,
    pub verifier: Service,
    pub wallet: Service,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The URLs the binary prints as one JSON line.
#[derive(Serialize)]
struct Urls<'a> {
    issuer: &'a Service,
    verifier: &'a Service,
    wallet: &'a Service,
}

impl Fake {
    /// Binds every listener on 127.0.0.1, connects to Redis (when asked) and returns once all
    /// servers accept connections. The servers run on their own runtime thread.
    pub fn start(cfg: FakeConfig) -> io::Result<Fake> {
        if cfg.replicas == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "replicas must be at least 1",
            ));
        }
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<[Service; 3]>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("wd-waltfake".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("wd-waltfake-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let started = rt.block_on(serve_all(cfg));
                match started {
                    Ok(services) => {
                        let _ = ready_tx.send(Ok(services));
                        let _ = rt.block_on(stop_rx);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
                rt.shutdown_background();
            })?;
        let [issuer, verifier, wallet] = ready_rx
            .recv()
            .map_err(|_| io::Error::other("the fake's runtime thread ended before listening"))??;
        Ok(Fake {
            issuer,
            verifier,
            wallet,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The URLs as one JSON object `{"issuer":{"balanced","replicas"},"verifier":…,"wallet":…}`.
    pub fn urls_json(&self) -> String {
        serde_json::to_string(&Urls {
            issuer: &self.issuer,
            verifier: &self.verifier,
            wallet: &self.wallet,
        })
        .expect("URLs serialize")
    }

    /// Stops every server and waits for the runtime thread to end.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// The `sessionTtl` request header (seconds) the issuer and verifier accept on session creation
/// (IssuerApi.kt `getSessionTtl`, VerifierApi.kt): Redis keeps the session that long; walt.id's
/// in-memory cache ignores a per-entry TTL and keeps its 5 minutes.
pub(crate) fn session_ttl_header(headers: &axum::http::HeaderMap) -> Option<Duration> {
    headers
        .get("sessionTtl")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The strings of a JSON array, in order (anything else in it skipped; not an array: none), as
/// kotlinx reads a `List<String>` the fake only looks into.
pub(crate) fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A listener on a free loopback port, and its base URL.
fn bind() -> io::Result<(tokio::net::TcpListener, String)> {
    let std_listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    std_listener.set_nonblocking(true)?;
    let url = format!("http://{}", std_listener.local_addr()?);
    Ok((tokio::net::TcpListener::from_std(std_listener)?, url))
}

fn spawn_server(listener: tokio::net::TcpListener, app: axum::Router) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

/// Adds `x-waltfake-replica` to every response of one replica.
fn tag_replica(router: axum::Router, name: String) -> axum::Router {
    let value = axum::http::HeaderValue::from_str(&name).expect("replica names are ASCII");
    router.layer(axum::middleware::map_response(
        move |mut res: axum::response::Response| {
            let value = value.clone();
            async move {
                res.headers_mut().insert(REPLICA_HEADER, value);
                res
            }
        },
    ))
}

async fn serve_all(cfg: FakeConfig) -> io::Result<[Service; 3]> {
    let redis = match &cfg.store {
        SessionStore::Memory => None,
        SessionStore::Redis { url } => Some(Arc::new(store::Resp::connect(url).await?)),
    };
    let keys = token::KeySource::new(cfg.seed);
    // One HTTP client for the wallet's server-side calls and the balancers; it never follows
    // redirects (waltid-facts §2: the wallet "does not follow redirects").
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(io::Error::other)?;

    let mut services = Vec::new();
    for (index, name) in ["issuer", "verifier", "wallet"].into_iter().enumerate() {
        let (balanced_listener, balanced_url) = bind()?;
        let mut replicas = Vec::new();
        let mut listeners = Vec::new();
        for _ in 0..cfg.replicas {
            let (l, u) = bind()?;
            listeners.push(l);
            replicas.push(u);
        }
        services.push((
            name,
            index,
            balanced_listener,
            Service {
                balanced: balanced_url,
                replicas,
            },
            listeners,
        ));
    }

    let issuer_base = services[0].3.balanced.clone();
    let verifier_base = services[1].3.balanced.clone();
    let shared_wallet_db = Arc::new(wallet::WalletDb::default());
    let shared_ci_key = Arc::new(keys.token_key("issuer-shared"));
    let shared_auth_key = Arc::new(keys.secret("wallet-shared"));

    let mut out = Vec::new();
    for (name, index, balanced_listener, service, listeners) in services {
        for (i, listener) in listeners.into_iter().enumerate() {
            let sessions =
                |disc: &'static str| store::Sessions::new(disc, cfg.session_ttl, redis.clone());
            let router = match name {
                "issuer" => issuer::router(issuer::Issuer {
                    base_url: issuer_base.clone(),
                    sessions: sessions(issuer::DISCRIMINATOR),
                    ci_key: if cfg.shared_ci_token_key {
                        shared_ci_key.clone()
                    } else {
                        Arc::new(keys.token_key(&format!("issuer-{i}")))
                    },
                    rng_seed: keys.seed_for(&format!("issuer-{i}-ids")),
                }),
                "verifier" => verifier::router(verifier::Verifier {
                    base_url: verifier_base.clone(),
                    sessions: sessions(verifier::DISCRIMINATOR_SESSIONS),
                    infos: sessions(verifier::DISCRIMINATOR_INFOS),
                    results: sessions(verifier::DISCRIMINATOR_RESULTS),
                    rng_seed: keys.seed_for(&format!("verifier-{i}-ids")),
                }),
                _ => wallet::router(wallet::Wallet::new(
                    shared_wallet_db.clone(),
                    if cfg.shared_auth_keys {
                        shared_auth_key.clone()
                    } else {
                        Arc::new(keys.secret(&format!("wallet-{i}")))
                    },
                    http.clone(),
                    keys.seed_for(&format!("wallet-{i}-ids")),
                )),
            };
            spawn_server(listener, tag_replica(router, format!("{name}-{i}")));
        }
        let balancer = balancer::router(
            service.replicas.clone(),
            http.clone(),
            cfg.seed.wrapping_add(index as u64),
        );
        spawn_server(balanced_listener, balancer);
        out.push(service);
    }
    let wallet = out.pop().expect("three services");
    let verifier = out.pop().expect("three services");
    let issuer = out.pop().expect("three services");
    Ok([issuer, verifier, wallet])
}
