//! The balanced URL of a service: every request goes to a replica chosen at random (seeded), as
//! kube-proxy in iptables mode picks an endpoint at random for every new connection. The fake
//! chooses per REQUEST, so a client that reuses keep-alive connections through a real Service may
//! switch replicas less often than here.

use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use rand::{RngExt, SeedableRng};

struct St {
    replicas: Vec<String>,
    http: reqwest::Client,
    rng: Mutex<rand::rngs::StdRng>,
}

/// Headers of one connection, not forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Request bodies larger than this are refused (the fake's bodies are a few KiB).
const MAX_BODY: usize = 16 << 20;

pub fn router(replicas: Vec<String>, http: reqwest::Client, seed: u64) -> Router {
    let st = Arc::new(St {
        replicas,
        http,
        rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
    });
    Router::new().fallback(forward).with_state(st)
}

async fn forward(State(st): State<Arc<St>>, req: Request) -> Response {
    let pick = st
        .rng
        .lock()
        .expect("balancer rng")
        .random_range(0..st.replicas.len());
    let (parts, body) = req.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut out = st
        .http
        .request(parts.method, format!("{}{path}", st.replicas[pick]))
        .body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != "host" && name != "content-length" {
            out = out.header(name, value);
        }
    }
    match out.send().await {
        Ok(res) => {
            let mut builder = Response::builder().status(res.status());
            for (name, value) in res.headers() {
                if !HOP_BY_HOP.contains(&name.as_str()) && name != "content-length" {
                    builder = builder.header(name, value);
                }
            }
            let bytes = res.bytes().await.unwrap_or_default();
            builder
                .body(Body::from(bytes))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        // What an ingress answers when the chosen endpoint refuses.
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}
