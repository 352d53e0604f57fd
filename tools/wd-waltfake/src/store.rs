//! Session persistence as walt.id 0.18.2 does it (waltid-service-commons/src/main/kotlin/id/walt/
//! commons/persistence/): `InMemoryPersistence` is a per-process cache4k cache with
//! `expireAfterWrite(defaultExpiration)` (a per-call TTL is ignored); `RedisPersistence` writes
//! `SETEX "<discriminator>:<id>" <ttl.inWholeSeconds> <json>` and reads `GET`.
//!
//! Redis is spoken through a minimal RESP client (three commands: PING, SETEX, GET), which
//! keeps a second async Redis stack out of the workspace build.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Where issuer and verifier sessions live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStore {
    /// walt.id's default (`persistence.conf` absent or `type = "memory"`): each replica's own.
    Memory,
    /// `type = "redis"` with one node: every replica reads and writes the same Redis.
    /// `url` is `redis://HOST:PORT` (no auth, no TLS, database 0).
    Redis { url: String },
}

/// A failure of the Redis connection; walt.id maps a `JedisException` to 500
/// (waltid-service-commons/.../web/plugins/StatusPages.kt).
#[derive(Debug)]
pub struct StoreError(pub String);

/// One `ConfiguredPersistence`: a discriminator, a default TTL and a backend.
pub struct Sessions {
    discriminator: &'static str,
    ttl: Duration,
    backend: Backend,
}

enum Backend {
    Memory(Mutex<HashMap<String, (Instant, String)>>),
    Redis(Arc<Resp>),
}

impl Sessions {
    pub fn new(discriminator: &'static str, ttl: Duration, redis: Option<Arc<Resp>>) -> Self {
        let backend = match redis {
            None => Backend::Memory(Mutex::new(HashMap::new())),
            Some(r) => Backend::Redis(r),
        };
        Sessions {
            discriminator,
            ttl,
            backend,
        }
    }

    fn key(&self, id: &str) -> String {
        format!("{}:{id}", self.discriminator)
    }

    pub async fn get(&self, id: &str) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Memory(m) => {
                let mut map = m.lock().expect("session map");
                match map.get(id) {
                    Some((written, v)) if written.elapsed() < self.ttl => Ok(Some(v.clone())),
                    Some(_) => {
                        map.remove(id);
                        Ok(None)
                    }
                    None => Ok(None),
                }
            }
            Backend::Redis(r) => match r.command(&["GET", &self.key(id)]).await? {
                Reply::Bulk(Some(v)) => Ok(Some(String::from_utf8_lossy(&v).into_owned())),
                Reply::Bulk(None) => Ok(None),
                other => Err(StoreError(format!("unexpected reply to GET: {other:?}"))),
            },
        }
    }

    /// A session document: `None` when there is none, it expired, or it is not JSON (walt.id's
    /// `getSession` finds no session it cannot deserialize).
    pub async fn get_json(&self, id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        Ok(self
            .get(id)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// A new session's `expiresAt` (unix seconds): now + its TTL, the `sessionTtl` asked for or
    /// the default; [`Sessions::write_back`] reads it back.
    pub fn expires_at(&self, ttl: Option<Duration>) -> u64 {
        now() + ttl.unwrap_or(self.ttl).as_secs()
    }

    /// Writes with the default TTL, restarting it (expire-after-write in memory, SETEX in Redis).
    pub async fn set(&self, id: &str, value: String) -> Result<(), StoreError> {
        self.set_ttl(id, value, None).await
    }

    /// Writes a session back with the time it has left (its `expiresAt`, unix seconds), as walt.id
    /// does after a step changed it (CIProvider.kt updateSessionStatus / generateProofOfPossessionNonceFor,
    /// OpenIDCredentialVerifier.verify): Redis honours it, memory restarts the default TTL.
    pub async fn write_back(
        &self,
        id: &str,
        session: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let left = session["expiresAt"]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(now());
        self.set_ttl(id, session.to_string(), Some(Duration::from_secs(left)))
            .await
    }

    /// Writes with `ttl` in Redis; memory ignores it and restarts the default TTL, as walt.id's
    /// InMemoryPersistence does.
    pub async fn set_ttl(
        &self,
        id: &str,
        value: String,
        ttl: Option<Duration>,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(m) => {
                let mut map = m.lock().expect("session map");
                // Bound the map in long runs: drop expired entries now and then.
                if map.len() >= 4096 && map.len().is_power_of_two() {
                    let ttl = self.ttl;
                    map.retain(|_, (w, _)| w.elapsed() < ttl);
                }
                map.insert(id.to_string(), (Instant::now(), value));
                Ok(())
            }
            Backend::Redis(r) => {
                // Kotlin's Duration.inWholeSeconds truncates; Redis refuses SETEX 0, so a
                // sub-second test TTL is rounded up to 1 s here (walt.id would fail on it).
                let secs = ttl.unwrap_or(self.ttl).as_secs().max(1).to_string();
                match r.command(&["SETEX", &self.key(id), &secs, &value]).await? {
                    Reply::Simple(_) => Ok(()),
                    other => Err(StoreError(format!("unexpected reply to SETEX: {other:?}"))),
                }
            }
        }
    }
}

/// Now in unix seconds (sessions' `expiresAt`, tokens' `iat`/`exp`).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A RESP reply (integers and arrays are only shown in error messages).
#[derive(Debug)]
#[allow(dead_code)]
pub enum Reply {
    Simple(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

/// A pool of RESP connections to one Redis.
pub struct Resp {
    addr: String,
    idle: Mutex<Vec<BufReader<TcpStream>>>,
}

impl Resp {
    /// Parses `redis://HOST:PORT[/]` and checks the server answers PING.
    pub async fn connect(url: &str) -> io::Result<Resp> {
        let rest = url.strip_prefix("redis://").ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("redis URL {url:?}: expected redis://HOST:PORT"),
            )
        })?;
        let addr = rest.trim_end_matches('/').to_string();
        if addr.contains('@') || addr.contains('/') || !addr.contains(':') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "redis URL {url:?}: expected redis://HOST:PORT (no user, password or database)"
                ),
            ));
        }
        let resp = Resp {
            addr,
            idle: Mutex::new(Vec::new()),
        };
        match resp.command(&["PING"]).await {
            Ok(Reply::Simple(s)) if s == "PONG" => Ok(resp),
            Ok(other) => Err(io::Error::other(format!(
                "redis {url}: PING answered {other:?}"
            ))),
            Err(StoreError(e)) => Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!("redis {url}: {e}"),
            )),
        }
    }

    pub async fn command(&self, args: &[&str]) -> Result<Reply, StoreError> {
        let pooled = self.idle.lock().expect("redis pool").pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => BufReader::new(
                TcpStream::connect(&self.addr)
                    .await
                    .map_err(|e| StoreError(format!("Failed to connect to {}: {e}", self.addr)))?,
            ),
        };
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let result = async {
            conn.get_mut().write_all(&out).await?;
            read_reply(&mut conn).await
        }
        .await
        .map_err(|e| StoreError(format!("redis {}: {e}", self.addr)))?;
        self.idle.lock().expect("redis pool").push(conn);
        result
    }
}

async fn read_line(conn: &mut BufReader<TcpStream>) -> io::Result<String> {
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(line.trim_end_matches("\r\n").to_string())
}

/// Reads one reply; an error reply is an `Ok(Err(..))` so the connection stays usable.
async fn read_reply(conn: &mut BufReader<TcpStream>) -> io::Result<Result<Reply, StoreError>> {
    let line = read_line(conn).await?;
    let (kind, rest) = line.split_at(1.min(line.len()));
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad RESP line {line:?}"),
        )
    };
    Ok(Ok(match kind {
        "+" => Reply::Simple(rest.to_string()),
        "-" => return Ok(Err(StoreError(rest.to_string()))),
        ":" => Reply::Integer(rest.parse().map_err(|_| bad())?),
        "$" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            if n < 0 {
                Reply::Bulk(None)
            } else {
                let mut buf = vec![0u8; n as usize + 2];
                conn.read_exact(&mut buf).await?;
                buf.truncate(n as usize);
                Reply::Bulk(Some(buf))
            }
        }
        "*" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            let mut items = Vec::new();
            for _ in 0..n.max(0) {
                match Box::pin(read_reply(conn)).await? {
                    Ok(r) => items.push(r),
                    Err(e) => return Ok(Err(e)),
                }
            }
            Reply::Array(items)
        }
        _ => return Err(bad()),
    }))
}
