//! The client against a tiny raw TCP server on loopback that answers from a script: framing,
//! reuse, closes, bounds, garbage and timeouts. Every request is bounded by a timeout.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// What the server does after writing an answer.
#[derive(Clone, Copy, PartialEq)]
enum After {
    Keep,
    Close,
}

/// One scripted answer: its bytes, whether they go out a few bytes at a time, what follows.
#[derive(Clone)]
struct Say {
    bytes: Vec<u8>,
    dribble: bool,
    after: After,
    /// Wait this long before answering.
    delay: Duration,
}

fn say(s: &str) -> Say {
    Say {
        bytes: s.as_bytes().to_vec(),
        dribble: false,
        after: After::Keep,
        delay: Duration::ZERO,
    }
}

struct Server {
    ep: Endpoint,
    accepted: Arc<AtomicUsize>,
    /// Requests received, as text.
    seen: Arc<std::sync::Mutex<Vec<String>>>,
}

/// Reads one request (head and Content-Length body); None when the connection ended.
async fn read_request<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i + 4]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            while buf.len() < i + 4 + len {
                let mut b = [0u8; 4096];
                let n = s.read(&mut b).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&b[..n]);
            }
            let req = String::from_utf8_lossy(&buf[..i + 4 + len]).to_string();
            buf.drain(..i + 4 + len);
            return Some(req);
        }
        let mut b = [0u8; 4096];
        let n = s.read(&mut b).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&b[..n]);
    }
}

async fn answer<S: tokio::io::AsyncWrite + Unpin>(s: &mut S, a: &Say) -> bool {
    tokio::time::sleep(a.delay).await;
    if a.dribble {
        for piece in a.bytes.chunks(3) {
            if s.write_all(piece).await.is_err() || s.flush().await.is_err() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    } else if s.write_all(&a.bytes).await.is_err() || s.flush().await.is_err() {
        return false;
    }
    a.after == After::Keep
}

/// Serves the script's answers in order, one per request, across connections.
async fn serve(script: Vec<Say>) -> Server {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ep = Endpoint::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let script = Arc::new(script);
    let (acc, sn) = (accepted.clone(), seen.clone());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            acc.fetch_add(1, SeqCst);
            let (script, next, sn) = (script.clone(), next.clone(), sn.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(req) = read_request(&mut s, &mut buf).await {
                    sn.lock().unwrap().push(req);
                    let Some(a) = script.get(next.fetch_add(1, SeqCst)) else {
                        return;
                    };
                    if !answer(&mut s, a).await {
                        return;
                    }
                }
            });
        }
    });
    Server { ep, accepted, seen }
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";
const HEAD: &[u8] = b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n";
const POST: &[u8] = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}";

fn m(name: &str) -> Method {
    Method::of(&http::Method::from_bytes(name.as_bytes()).unwrap())
}

async fn send(c: &mut Conns, s: &Server, req: &[u8]) -> Result<Answer, (Failure, String)> {
    let method = m(std::str::from_utf8(req).unwrap().split(' ').next().unwrap());
    c.send(0, &s.ep, req, method, Duration::from_secs(5)).await
}

#[tokio::test]
async fn content_length_answers_on_one_connection() {
    let s = serve(vec![
        say("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Id: abc\r\n\r\nhello"),
        Say {
            dribble: true,
            ..say("HTTP/1.1 201 Created\r\ncontent-length: 11\r\n\r\nhello world")
        },
    ])
    .await;
    let mut c = Conns::new(1);
    let a = send(&mut c, &s, GET).await.unwrap();
    assert_eq!((a.status, &a.body[..]), (200, &b"hello"[..]));
    assert_eq!(a.header("x-ID"), Some("abc"));
    assert_eq!(a.header("missing"), None);
    let a = send(&mut c, &s, POST).await.unwrap();
    assert_eq!((a.status, &a.body[..]), (201, &b"hello world"[..]));
    assert_eq!(s.accepted.load(SeqCst), 1, "one kept-alive connection");
    assert!(s.seen.lock().unwrap()[1].ends_with("\r\n\r\n{}"));
}

#[tokio::test]
async fn chunked_answers_with_extensions_and_trailers() {
    let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                   5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\nX-More: u\r\n\r\n";
    let s = serve(vec![
        say(chunked),
        Say {
            dribble: true,
            ..say(chunked)
        },
        say("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
        say("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ])
    .await;
    let mut c = Conns::new(1);
    for _ in 0..2 {
        let a = send(&mut c, &s, GET).await.unwrap();
        assert_eq!(&a.body[..], b"hello world");
    }
    assert!(send(&mut c, &s, GET).await.unwrap().body.is_empty());
    // The trailers were read to their end: the next answer on the connection is whole.
    let a = send(&mut c, &s, GET).await.unwrap();
    assert_eq!(&a.body[..], b"ok");
    assert_eq!(s.accepted.load(SeqCst), 1);
}

#[tokio::test]
async fn bodiless_answers_read_no_body() {
    let s = serve(vec![
        say("HTTP/1.1 204 No Content\r\n\r\n"),
        // Both announce a body that does not follow (RFC 9110 §15.4.5, §9.3.2).
        say("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"),
        say("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
        say("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        say("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nend"),
    ])
    .await;
    let mut c = Conns::new(1);
    assert_eq!(send(&mut c, &s, GET).await.unwrap().status, 204);
    assert_eq!(send(&mut c, &s, GET).await.unwrap().status, 304);
    let a = send(&mut c, &s, HEAD).await.unwrap();
    assert!(a.status == 200 && a.body.is_empty());
    let a = send(&mut c, &s, GET).await.unwrap();
    assert!(a.status == 200 && a.body.is_empty(), "1xx skipped");
    assert_eq!(&send(&mut c, &s, GET).await.unwrap().body[..], b"end");
    assert_eq!(s.accepted.load(SeqCst), 1);
}

#[tokio::test]
async fn connection_close_and_http10_reconnect() {
    let s = serve(vec![
        Say {
            after: After::Close,
            ..say("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na")
        },
        // HTTP/1.0 without keep-alive and without a length: the body runs to the close.
        Say {
            after: After::Close,
            ..say("HTTP/1.0 200 OK\r\n\r\nuntil close")
        },
        say("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc"),
    ])
    .await;
    let mut c = Conns::new(1);
    assert_eq!(&send(&mut c, &s, GET).await.unwrap().body[..], b"a");
    assert_eq!(
        &send(&mut c, &s, GET).await.unwrap().body[..],
        b"until close"
    );
    assert_eq!(&send(&mut c, &s, GET).await.unwrap().body[..], b"c");
    assert_eq!(s.accepted.load(SeqCst), 3);
}

#[tokio::test]
async fn server_closing_a_kept_alive_connection() {
    // Each answer says nothing about closing, then the server closes.
    let closing = |body: &str| Say {
        after: After::Close,
        ..say(&format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ))
    };
    let s = serve(vec![closing("1"), closing("2"), closing("3"), closing("4")]).await;
    let mut c = Conns::new(1);
    assert_eq!(&send(&mut c, &s, GET).await.unwrap().body[..], b"1");
    // An idempotent request that found the connection closed is sent once more, on a new one.
    assert_eq!(&send(&mut c, &s, GET).await.unwrap().body[..], b"2");
    assert_eq!(s.accepted.load(SeqCst), 2);
    // A POST is not repeated: it fails, and the next request opens a new connection.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = send(&mut c, &s, POST).await.unwrap_err();
    assert_eq!(e.0, Failure::Io, "{e:?}");
    assert_eq!(&send(&mut c, &s, POST).await.unwrap().body[..], b"3");
    // After IDLE_PROBE, the close is noticed before the POST goes out.
    tokio::time::sleep(IDLE_PROBE + Duration::from_millis(100)).await;
    assert_eq!(&send(&mut c, &s, POST).await.unwrap().body[..], b"4");
    assert_eq!(s.accepted.load(SeqCst), 4);
}

#[tokio::test]
async fn answers_over_the_bound_are_refused() {
    let s = serve(vec![
        say(&format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        )),
        say(&format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            MAX_BODY + 1
        )),
    ])
    .await;
    let mut c = Conns::new(1);
    for _ in 0..2 {
        let e = send(&mut c, &s, GET).await.unwrap_err();
        assert!(e.0 == Failure::Io && e.1.contains("exceeds 16 MB"), "{e:?}");
    }
}

#[tokio::test]
async fn a_large_answer_arrives_whole() {
    let body = "x".repeat(300_000);
    let s = serve(vec![
        say(&format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )),
        say(&format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        )),
    ])
    .await;
    let mut c = Conns::new(1);
    for _ in 0..2 {
        assert_eq!(send(&mut c, &s, GET).await.unwrap().body.len(), 300_000);
    }
}

#[tokio::test]
async fn garbage_is_an_error_not_a_hang() {
    let s = serve(vec![
        say("SSH-2.0-OpenSSH_9.6\r\n"),
        say("HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n"),
        say("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    ])
    .await;
    let mut c = Conns::new(1);
    for want in [
        "not an HTTP/1 answer",
        "invalid Content-Length",
        "chunk size",
    ] {
        let e = send(&mut c, &s, GET).await.unwrap_err();
        assert!(e.0 == Failure::Io && e.1.contains(want), "{e:?}");
    }
}

#[tokio::test]
async fn a_slow_server_hits_the_timeout() {
    let s = serve(vec![
        Say {
            delay: Duration::from_secs(3),
            ..say("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        },
        say("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"),
    ])
    .await;
    let mut c = Conns::new(1);
    let t = std::time::Instant::now();
    let e = c
        .send(0, &s.ep, GET, m("GET"), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(e.0, Failure::Timeout);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // The timed-out connection is not reused: the next answer is the next request's.
    assert_eq!(&send(&mut c, &s, GET).await.unwrap().body[..], b"b");
    assert_eq!(s.accepted.load(SeqCst), 2);
}

#[tokio::test]
async fn nothing_listening_is_a_connect_failure() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = Endpoint::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
    drop(l);
    let e = Conns::new(1)
        .send(0, &ep, GET, m("GET"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(e.0, Failure::Connect);
}

#[test]
fn endpoints() {
    let e = Endpoint::parse("http://127.0.0.1:8080/").unwrap();
    assert_eq!(
        (e.addr().as_str(), e.prefix.as_str(), e.authority.as_str()),
        ("127.0.0.1:8080", "", "127.0.0.1:8080")
    );
    let e = Endpoint::parse("https://wallet.example.org/api").unwrap();
    assert_eq!(
        (e.addr().as_str(), e.prefix.as_str()),
        ("wallet.example.org:443", "/api")
    );
    assert!(Endpoint::parse("ftp://x").is_err());
    assert!(Endpoint::parse("wallet:7001").is_err());
    assert!(Endpoint::parse("http://u:p@x/").is_err());
}

/// https over the same code: a self-signed certificate made by openssl (CI installs it,
/// .ci/run) for 127.0.0.1, a tokio-rustls server, the client trusting that certificate only.
#[tokio::test]
async fn https_on_the_same_client() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = tempfile::tempdir().unwrap();
    let (crt, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .expect("openssl runs (apt-get install openssl)");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let cert = CertificateDer::from_pem_file(&crt).unwrap();
    let server_cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.clone()],
            PrivateKeyDer::from_pem_file(&key).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_cfg));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let acc = accepted.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            acc.fetch_add(1, SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut n = 0;
                while read_request(&mut s, &mut buf).await.is_some() {
                    n += 1;
                    let a = say(&format!(
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecure\r\n1\r\n{n}\r\n0\r\n\r\n"
                    ));
                    if !answer(&mut s, &a).await {
                        return;
                    }
                }
            });
        }
    });
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut ep = Endpoint::parse(&format!("https://127.0.0.1:{port}")).unwrap();
    ep.tls = Some(Arc::new(cfg));
    let mut c = Conns::new(1);
    for want in ["secure1", "secure2"] {
        let a = c
            .send(0, &ep, GET, m("GET"), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(std::str::from_utf8(&a.body).unwrap(), want);
    }
    assert_eq!(accepted.load(SeqCst), 1, "one kept-alive TLS connection");
    // The platform's roots do not trust a self-signed certificate.
    let plain = Endpoint::parse(&format!("https://127.0.0.1:{port}")).unwrap();
    let e = Conns::new(1)
        .send(0, &plain, GET, m("GET"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(e.0, Failure::Connect, "{e:?}");
}
