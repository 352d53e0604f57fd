//! The HTTP client: a lean HTTP/1.1 keep-alive client driven by the virtual user's own task on
//! its own connection (one per VU and endpoint, as k6's VUs own theirs; no pool, no connection
//! task), rustls over the same code for `https://`. Requests are bytes the engine prebuilds per
//! step; answers are parsed with httparse (hyper's own parser), framed by Content-Length,
//! chunked transfer coding or the connection's end.
//!
//! Hand-written for speed: hyper's client connection (per request a message through a channel to
//! the connection's task and a oneshot back) cost 4.6 µs of user CPU per request against wrk's
//! 0.9 µs and left wd-loadtest at 0.63–0.74× wrk; this client costs 1.6–2.0 µs, at parity with
//! wrk in CPU per request (docs/benchmarks-notes/loadtest.md).
//!
//! Reuse and retries: a connection is reused unless the answer said `Connection: close`, was
//! HTTP/1.0 without keep-alive, ended with the connection, or had bytes after it. A connection
//! idle for [`IDLE_PROBE`] or more is probed (a non-blocking read) before a request goes out, and
//! reopened when the server closed it meanwhile. A request sent on a reused connection that then
//! ends before ONE byte of an answer arrived (the server closed it as the request left) is sent
//! again once on a new connection, but only for idempotent methods (RFC 9110 §9.2.2): a POST
//! may have been acted on, so it fails as an `io` error instead of being repeated.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Answers larger than this are refused (walt.id's answers are a few kB).
pub const MAX_BODY: usize = 16 << 20;
/// An answer's status line and headers larger than this are refused.
const MAX_HEAD: usize = 64 << 10;
/// Headers per answer (walt.id's have about ten).
const MAX_HEADERS: usize = 100;
/// The read buffer a connection starts with: at 1,000 VUs every kB is a MB.
const READ_BUF: usize = 4096;
/// A connection idle this long is probed before reuse (servers' keep-alive timeouts are seconds).
pub const IDLE_PROBE: Duration = Duration::from_secs(1);

/// One base URL: `http(s)://host[:port][/prefix]`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    https: bool,
    host: String,
    port: u16,
    /// The `Host` header.
    pub authority: String,
    /// Path prefix without a trailing slash (`""` for none).
    pub prefix: String,
    /// TLS settings other than the platform's roots (tests).
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let uri: http::Uri = url
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
        if auth.as_str().contains('@') {
            return Err(format!("{url:?}: a base URL has no user info"));
        }
        Ok(Endpoint {
            url: url.trim_end_matches('/').to_string(),
            https,
            host: host.to_string(),
            port,
            authority: auth.as_str().to_string(),
            prefix: uri.path().trim_end_matches('/').to_string(),
            tls: None,
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

/// A whole answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The status line and headers as received.
    head: Vec<u8>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The first header `name` (case-insensitive) as text, when it is.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut r = httparse::Response::new(&mut headers);
        r.parse(&self.head).ok()?;
        let v = r
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))?
            .value;
        std::str::from_utf8(v).ok()
    }
}

/// What the request's method means for its answer and for a retry.
#[derive(Debug, Clone, Copy)]
pub struct Method {
    /// HEAD: the answer has no body whatever its headers say.
    pub head: bool,
    /// Sending it twice has the effect of once (RFC 9110 §9.2.2).
    pub idempotent: bool,
}

impl Method {
    pub fn of(m: &http::Method) -> Method {
        use http::Method as M;
        Method {
            head: m == M::HEAD,
            idempotent: [M::GET, M::HEAD, M::PUT, M::DELETE, M::OPTIONS, M::TRACE].contains(m),
        }
    }
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CFG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CFG.get_or_init(|| {
        use rustls_platform_verifier::BuilderVerifierExt;
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
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

/// The workspace's one crypto provider: aws-lc-rs, as reqwest (wd-vault) and kube use.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

enum Stream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    async fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(b).await,
            Stream::Tls(s) => {
                s.write_all(b).await?;
                s.flush().await
            }
        }
    }

    async fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(b).await,
            Stream::Tls(s) => s.read(b).await,
        }
    }

    fn poll_read_once(
        &mut self,
        cx: &mut Context<'_>,
        b: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, b),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, b),
        }
    }

    /// Whether an idle connection still looks open: nothing to read yet. EOF, an error or
    /// unexpected bytes (nothing was asked) all mean it must not carry a request.
    fn idle_and_open(&mut self) -> bool {
        let mut one = [0u8; 1];
        let mut b = ReadBuf::new(&mut one);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        matches!(self.poll_read_once(&mut cx, &mut b), Poll::Pending)
    }
}

/// One kept-alive connection and its read buffer (`buf[start..end]` is received, not yet used).
struct Conn {
    io: Stream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// When its last answer ended (None: never used).
    idle_since: Option<Instant>,
}

/// Opens a connection (TCP, then TLS for https).
async fn connect(ep: &Endpoint) -> Result<Conn, String> {
    let tcp = TcpStream::connect(ep.addr())
        .await
        .map_err(|e| format!("{}: {e}", ep.url))?;
    let _ = tcp.set_nodelay(true);
    let io = if ep.https {
        let cfg = match &ep.tls {
            Some(c) => c.clone(),
            None => tls_config()?,
        };
        let name = rustls::pki_types::ServerName::try_from(ep.host.clone())
            .map_err(|e| format!("{}: {e}", ep.url))?;
        let tls = tokio_rustls::TlsConnector::from(cfg)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("{}: TLS: {e}", ep.url))?;
        Stream::Tls(Box::new(tls))
    } else {
        Stream::Tcp(tcp)
    };
    Ok(Conn {
        io,
        buf: vec![0; READ_BUF],
        start: 0,
        end: 0,
        idle_since: None,
    })
}

/// Why an exchange on a connection failed.
enum ExErr {
    /// The connection ended (EOF or reset) before a byte of the answer arrived.
    Nothing(String),
    Io(String),
}

/// How an answer's body ends (RFC 9112 §6.3).
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

impl Conn {
    /// Reads more bytes after `end`, making room first; Ok(0) at the connection's end.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let n = self.buf.len() * 2;
                self.buf.resize(n, 0);
            }
        }
        let n = self.io.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// Like `fill`, but the connection's end is an error (mid-answer).
    async fn more(&mut self) -> Result<(), ExErr> {
        match self.fill().await {
            Ok(0) => Err(ExErr::Io("the connection closed mid-answer".into())),
            Ok(_) => Ok(()),
            Err(e) => Err(ExErr::Io(e.to_string())),
        }
    }

    /// Sends `req` and reads the whole answer. Ok(keep) says whether the connection can carry
    /// the next request.
    async fn exchange(&mut self, req: &[u8], method: Method) -> Result<(Answer, bool), ExErr> {
        self.start = 0;
        self.end = 0;
        if let Err(e) = self.io.write_all(req).await {
            return Err(ExErr::Nothing(e.to_string()));
        }
        let (status, head_len, framing, mut keep) = loop {
            if let Some(h) = self.head(method)? {
                break h;
            }
            if self.end - self.start >= MAX_HEAD {
                return Err(ExErr::Io(format!(
                    "the answer's head exceeds {} kB",
                    MAX_HEAD >> 10
                )));
            }
            match self.fill().await {
                Ok(0) if self.end == 0 => {
                    return Err(ExErr::Nothing("the server closed the connection".into()))
                }
                Ok(0) => return Err(ExErr::Io("the connection closed mid-answer".into())),
                Ok(_) => {}
                Err(e) if self.end == 0 => return Err(ExErr::Nothing(e.to_string())),
                Err(e) => return Err(ExErr::Io(e.to_string())),
            }
        };
        let head = self.buf[self.start..self.start + head_len].to_vec();
        self.start += head_len;
        let body = match framing {
            Framing::None => Vec::new(),
            Framing::Length(n) => self.body_length(n).await?,
            Framing::Chunked => self.body_chunked().await?,
            Framing::UntilClose => {
                keep = false;
                self.body_until_close().await?
            }
        };
        // Bytes after the answer were not asked for: the connection is out of step.
        keep &= self.start == self.end;
        Ok((Answer { status, head, body }, keep))
    }

    /// Parses the answer's head once it is all in the buffer; skips 1xx interim answers.
    /// Ok(None): more bytes needed.
    #[allow(clippy::type_complexity)]
    fn head(&mut self, method: Method) -> Result<Option<(u16, usize, Framing, bool)>, ExErr> {
        loop {
            // Uninitialised: zeroing 100 headers (3 kB) per answer showed in the profile.
            let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
            let mut r = httparse::Response::new(&mut []);
            let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
                &mut r,
                &self.buf[self.start..self.end],
                &mut headers,
            );
            let n = match parsed {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(e) => {
                    let got = &self.buf[self.start..self.end.min(self.start + 40)];
                    return Err(ExErr::Io(format!(
                        "not an HTTP/1 answer ({e}): {:?}",
                        String::from_utf8_lossy(got)
                    )));
                }
            };
            let status = r.code.unwrap_or(0);
            if status == 101 {
                return Err(ExErr::Io("101 Switching Protocols is not supported".into()));
            }
            if (100..200).contains(&status) {
                self.start += n;
                continue;
            }
            let mut keep = r.version == Some(1);
            let mut length: Option<usize> = None;
            let mut coded = None;
            for h in r.headers.iter() {
                if h.name.eq_ignore_ascii_case("content-length") {
                    let n = std::str::from_utf8(h.value)
                        .ok()
                        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|s| s.parse::<usize>().ok())
                        .ok_or_else(|| ExErr::Io("invalid Content-Length".into()))?;
                    if length.is_some_and(|l| l != n) {
                        return Err(ExErr::Io("conflicting Content-Length headers".into()));
                    }
                    length = Some(n);
                } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                    // The last coding decides (RFC 9112 §6.3): chunked or read until the end.
                    let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(b"");
                    coded = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
                } else if h.name.eq_ignore_ascii_case("connection") {
                    for t in h.value.split(|&b| b == b',') {
                        let t = t.trim_ascii();
                        if t.eq_ignore_ascii_case(b"close") {
                            keep = false;
                        } else if t.eq_ignore_ascii_case(b"keep-alive") && r.version == Some(0) {
                            keep = true;
                        }
                    }
                }
            }
            let framing = if method.head || status == 204 || status == 304 {
                Framing::None
            } else {
                match (coded, length) {
                    (Some(true), _) => Framing::Chunked,
                    (Some(false), _) => Framing::UntilClose,
                    (None, Some(n)) if n > MAX_BODY => return Err(too_large()),
                    (None, Some(0)) => Framing::None,
                    (None, Some(n)) => Framing::Length(n),
                    (None, None) => Framing::UntilClose,
                }
            };
            return Ok(Some((status, n, framing, keep)));
        }
    }

    async fn body_length(&mut self, n: usize) -> Result<Vec<u8>, ExErr> {
        let mut body = Vec::with_capacity(n);
        let have = (self.end - self.start).min(n);
        body.extend_from_slice(&self.buf[self.start..self.start + have]);
        self.start += have;
        // The rest straight into the body: never past the answer's end.
        while body.len() < n {
            let old = body.len();
            body.resize(n, 0);
            match self.io.read(&mut body[old..]).await {
                Ok(0) => return Err(ExErr::Io("the connection closed mid-answer".into())),
                Ok(got) => body.truncate(old + got),
                Err(e) => return Err(ExErr::Io(e.to_string())),
            }
        }
        Ok(body)
    }

    async fn body_chunked(&mut self) -> Result<Vec<u8>, ExErr> {
        let mut body = Vec::new();
        loop {
            let (used, size) = loop {
                match httparse::parse_chunk_size(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete(c)) => break c,
                    Ok(httparse::Status::Partial) if self.end - self.start < MAX_HEAD => {
                        self.more().await?
                    }
                    _ => return Err(ExErr::Io("invalid chunk size line".into())),
                }
            };
            self.start += used;
            if size == 0 {
                break;
            }
            if body.len() as u64 + size > MAX_BODY as u64 {
                return Err(too_large());
            }
            let mut left = size as usize;
            while left > 0 {
                if self.start == self.end {
                    self.more().await?;
                }
                let take = left.min(self.end - self.start);
                body.extend_from_slice(&self.buf[self.start..self.start + take]);
                self.start += take;
                left -= take;
            }
            while self.end - self.start < 2 {
                self.more().await?;
            }
            if &self.buf[self.start..self.start + 2] != b"\r\n" {
                return Err(ExErr::Io("a chunk does not end with CRLF".into()));
            }
            self.start += 2;
        }
        // Trailer fields, then an empty line (RFC 9112 §7.1.2): read and dropped.
        let mut seen = 0;
        loop {
            let rest = &self.buf[self.start..self.end];
            if let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
                self.start += i + 2;
                if i == 0 {
                    return Ok(body);
                }
                seen += i + 2;
                if seen > MAX_HEAD {
                    return Err(ExErr::Io("the trailer section is too large".into()));
                }
                continue;
            }
            if rest.len() > MAX_HEAD {
                return Err(ExErr::Io("the trailer section is too large".into()));
            }
            self.more().await?;
        }
    }

    async fn body_until_close(&mut self) -> Result<Vec<u8>, ExErr> {
        loop {
            if self.end - self.start > MAX_BODY {
                return Err(too_large());
            }
            match self.fill().await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(ExErr::Io(e.to_string())),
            }
        }
        let body = self.buf[self.start..self.end].to_vec();
        self.start = self.end;
        Ok(body)
    }
}

fn too_large() -> ExErr {
    ExErr::Io(format!("the answer exceeds {} MB", MAX_BODY >> 20))
}

/// A virtual user's connections, one slot per endpoint of the run, and its request timer.
pub struct Conns {
    slots: Vec<Option<Conn>>,
    /// Re-armed per request (tokio extends a pending timer in place: no allocation, no wheel
    /// update while answers come faster than the timeout).
    timer: Pin<Box<Sleep>>,
}

impl Conns {
    pub fn new(endpoints: usize) -> Conns {
        Conns {
            slots: (0..endpoints).map(|_| None).collect(),
            timer: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
        }
    }

    /// Sends one request (`req`: its bytes, as the engine built them) on the VU's connection to
    /// `ep`, opened or reopened as needed, and reads the whole answer (a failed answer's body is
    /// what tells drift from error). `timeout` covers connecting, sending and the whole answer.
    pub async fn send(
        &mut self,
        id: usize,
        ep: &Endpoint,
        req: &[u8],
        method: Method,
        timeout: Duration,
    ) -> Result<Answer, (Failure, String)> {
        let now = Instant::now();
        self.timer.as_mut().reset(now + timeout);
        let slot = &mut self.slots[id];
        let r = {
            let work = send_on(slot, ep, req, method, now);
            tokio::pin!(work);
            let timer = &mut self.timer;
            poll_fn(|cx| {
                if let Poll::Ready(r) = work.as_mut().poll(cx) {
                    return Poll::Ready(Some(r));
                }
                timer.as_mut().poll(cx).map(|_| None)
            })
            .await
        };
        match r {
            Some(r) => r,
            None => {
                // The connection may be mid-answer: never reuse it.
                *slot = None;
                Err((Failure::Timeout, format!("no answer within {timeout:?}")))
            }
        }
    }
}

async fn send_on(
    slot: &mut Option<Conn>,
    ep: &Endpoint,
    req: &[u8],
    method: Method,
    now: Instant,
) -> Result<Answer, (Failure, String)> {
    if let Some(c) = slot {
        if c.idle_since
            .is_some_and(|t| now.saturating_duration_since(t) >= IDLE_PROBE)
            && !c.io.idle_and_open()
        {
            *slot = None;
        }
    }
    for attempt in 0..2 {
        let reused = slot.is_some();
        if !reused {
            *slot = Some(connect(ep).await.map_err(|e| (Failure::Connect, e))?);
        }
        let c = slot.as_mut().expect("slot filled above");
        match c.exchange(req, method).await {
            Ok((a, keep)) => {
                if keep {
                    c.idle_since = Some(now);
                } else {
                    *slot = None;
                }
                return Ok(a);
            }
            Err(ExErr::Nothing(e)) => {
                *slot = None;
                if !(reused && attempt == 0 && method.idempotent) {
                    return Err((Failure::Io, e));
                }
            }
            Err(ExErr::Io(e)) => {
                *slot = None;
                return Err((Failure::Io, e));
            }
        }
    }
    unreachable!("the second attempt returns")
}

#[cfg(test)]
mod tests;
