//! The benchmark's trivial HTTP server (scripts/bench-loadtest.sh): answers every request with
//! `200 ok`, keep-alive, on one thread. Written on raw tokio sockets rather than hyper so that
//! the server costs less per request than any generator it is measured with: it only counts the
//! `\r\n\r\n` ends of bodiless requests and writes a canned answer for each. GET/HEAD only.
//!
//! Usage: hello-server [PORT]  (0 or none: a free port; prints `listening on 127.0.0.1:P`)

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening on {}", l.local_addr()?);
        loop {
            let (mut s, _) = l.accept().await?;
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut have = 0usize;
                let mut out = Vec::with_capacity(16 * ANSWER.len());
                loop {
                    let n = match s.read(&mut buf[have..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    have += n;
                    let mut start = 0;
                    while let Some(i) = buf[start..have].windows(4).position(|w| w == b"\r\n\r\n") {
                        out.extend_from_slice(ANSWER);
                        start += i + 4;
                    }
                    buf.copy_within(start..have, 0);
                    have -= start;
                    if have == buf.len() {
                        return; // a header larger than 16 kB: not a benchmark request
                    }
                    if !out.is_empty() {
                        if s.write_all(&out).await.is_err() {
                            return;
                        }
                        out.clear();
                    }
                }
            });
        }
    })
}
