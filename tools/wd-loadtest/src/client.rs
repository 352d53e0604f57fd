//! The HTTP client: hyper 1.x HTTP/1.1 connections owned by one virtual user each (as k6's VUs
//! own theirs), kept alive, rustls for `https://`. No shared pool on the hot path: a VU reuses
//! its connection to an endpoint and reconnects when the server closed it. Each connection runs
//! in its own task, as hyper intends (measured: driving it from the VU's task instead cost ~10 %
//! more CPU per request; docs/benchmarks-notes/loadtest.md).

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;

/// Answers larger than this are cut (walt.id's answers are a few kB).
const MAX_BODY: usize = 16 << 20;

/// One base URL: `http(s)://host[:port][/prefix]`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    https: bool,
    host: String,
    port: u16,
    /// The `Host` header.
    pub authority: hyper::header::HeaderValue,
    /// Path prefix without a trailing slash (`""` for none).
    pub prefix: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| format!("invalid URL {url:?} ({e}); write http://host:port"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("{url:?}: the URL needs http:// or https://")),
        };
        let auth = uri
            .authority()
            .ok_or_else(|| format!("{url:?}: the URL has no host"))?;
        let host = auth.host().trim_start_matches('[').trim_end_matches(']');
        let port = auth.port_u16().unwrap_or(if https { 443 } else { 80 });
        if uri.query().is_some() {
            return Err(format!("{url:?}: a base URL has no query"));
        }
        Ok(Endpoint {
            url: url.trim_end_matches('/').to_string(),
            https,
            host: host.to_string(),
            port,
            authority: hyper::header::HeaderValue::from_str(auth.as_str())
                .map_err(|_| format!("{url:?}: invalid host"))?,
            prefix: uri.path().trim_end_matches('/').to_string(),
        })
    }

    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Connect,
    Timeout,
    Io,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Connect => "connect",
            Failure::Timeout => "timeout",
            Failure::Io => "io",
        }
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CFG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CFG.get_or_init(|| {
        use rustls_platform_verifier::BuilderVerifierExt;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_platform_verifier()
            .map_err(|e| e.to_string())?
            .with_no_client_auth();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    })
    .clone()
}

/// A connection: hyper's request handle (its connection future runs in a task of its own).
pub struct Conn {
    send: SendRequest<Full<Bytes>>,
}

/// Opens a connection (TCP, then TLS for https).
pub async fn connect(ep: &Endpoint) -> Result<Conn, String> {
    let tcp = TcpStream::connect(ep.addr())
        .await
        .map_err(|e| format!("{}: {e}", ep.url))?;
    let _ = tcp.set_nodelay(true);
    if ep.https {
        let name = rustls::pki_types::ServerName::try_from(ep.host.clone())
            .map_err(|e| format!("{}: {e}", ep.url))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config()?)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("{}: TLS: {e}", ep.url))?;
        handshake(TokioIo::new(tls)).await
    } else {
        handshake(TokioIo::new(tcp)).await
    }
}

async fn handshake<T>(io: T) -> Result<Conn, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    // Reads of 4 kB at a time (walt.id answers are a few kB; a larger one still accumulates):
    // hyper's adaptive default starts at 8 kB, and at 1,000 VUs every kB is a MB.
    let (send, conn) = hyper::client::conn::http1::Builder::new()
        .read_buf_exact_size(Some(4096))
        .handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Conn { send })
}

/// A virtual user's connections, one slot per endpoint of the run.
pub struct Conns {
    slots: Vec<Option<Conn>>,
}

impl Conns {
    pub fn new(endpoints: usize) -> Conns {
        Conns {
            slots: (0..endpoints).map(|_| None).collect(),
        }
    }

    /// Sends one request on the VU's connection to `ep` (opened or reopened as needed) and reads
    /// the whole answer (a failed answer's body is what tells drift from error).
    pub async fn send(
        &mut self,
        id: usize,
        ep: &Endpoint,
        req: hyper::Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Answer, (Failure, String)> {
        match tokio::time::timeout(timeout, self.send_inner(id, ep, req)).await {
            Ok(r) => r,
            Err(_) => {
                // The connection may be mid-answer: never reuse it.
                self.slots[id] = None;
                Err((Failure::Timeout, format!("no answer within {timeout:?}")))
            }
        }
    }

    async fn send_inner(
        &mut self,
        id: usize,
        ep: &Endpoint,
        mut req: hyper::Request<Full<Bytes>>,
    ) -> Result<Answer, (Failure, String)> {
        // A kept-alive connection the server closed is retried once on a fresh one, but only when
        // hyper says the request was not sent.
        for attempt in 0..2 {
            let fresh = self.slots[id].is_none();
            if fresh {
                let c = connect(ep).await.map_err(|e| (Failure::Connect, e))?;
                self.slots[id] = Some(c);
            }
            let c = self.slots[id].as_mut().expect("slot filled above");
            if c.send.ready().await.is_err() {
                self.slots[id] = None;
                if fresh || attempt == 1 {
                    return Err((Failure::Io, "connection closed".into()));
                }
                continue;
            }
            match c.send.try_send_request(req).await {
                Ok(resp) => {
                    let (parts, body) = resp.into_parts();
                    let body = match Limited::new(body, MAX_BODY).collect().await {
                        Ok(b) => b.to_bytes(),
                        Err(e) => {
                            self.slots[id] = None;
                            return Err((Failure::Io, e.to_string()));
                        }
                    };
                    if parts
                        .headers
                        .get(hyper::header::CONNECTION)
                        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"))
                    {
                        self.slots[id] = None;
                    }
                    return Ok(Answer {
                        status: parts.status.as_u16(),
                        headers: parts.headers,
                        body,
                    });
                }
                Err(mut e) => {
                    self.slots[id] = None;
                    match e.take_message() {
                        Some(r) if !fresh && attempt == 0 => req = r,
                        _ => return Err((Failure::Io, e.into_error().to_string())),
                    }
                }
            }
        }
        Err((Failure::Io, "connection closed".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            (e.addr().as_str(), e.prefix.as_str()),
            ("127.0.0.1:8080", "")
        );
        let e = Endpoint::parse("https://wallet.example.org/api").unwrap();
        assert_eq!(
            (e.addr().as_str(), e.prefix.as_str()),
            ("wallet.example.org:443", "/api")
        );
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("wallet:7001").is_err());
    }
}
