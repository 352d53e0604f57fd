//! A throw-away real PostgreSQL (the Debian package's binaries; .ci/run installs postgresql and
//! postgresql-client): a cluster in a temp dir on a free 127.0.0.1 port with its socket in the
//! same dir, optionally serving TLS with given certificate and key files; stopped on drop.
//!
//! The superuser `postgres` logs in only through the socket (trust); over TCP every role needs a
//! password (scram-sha-256), as an application logs in.

use crate::openbao::free_port;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The PostgreSQL server binaries: the newest /usr/lib/postgresql/<major>/bin (Debian's layout;
/// initdb is not on PATH there), else the directory of an `initdb` on PATH.
pub fn pg_bin() -> PathBuf {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let b = e.path().join("bin");
            b.join("initdb").is_file().then_some((major, b))
        })
        .collect();
    dirs.sort();
    if let Some((_, b)) = dirs.pop() {
        return b;
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("initdb"))
                .find(|f| f.is_file())
        })
        .unwrap_or_default();
    on_path
        .and_then(|f| std::fs::canonicalize(f).ok())
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .expect("PostgreSQL is missing: apt-get install postgresql (.ci/run installs it)")
}

/// A PostgreSQL cluster in a temp dir; stopped when dropped. As root the server runs as
/// `nobody` (initdb and postgres refuse root).
pub struct Pg {
    /// The directory of initdb, pg_ctl, postgres and psql.
    pub bin: PathBuf,
    dir: tempfile::TempDir,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    as_root: bool,
}

impl Pg {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn server_cmd(&self, tool: &str) -> Command {
        if self.as_root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(self.bin.join(tool));
            c
        } else {
            Command::new(self.bin.join(tool))
        }
    }

    /// Gives a file in the cluster's dir to the server's user (as root: `nobody`), `mode`.
    fn own(&self, path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        if self.as_root {
            assert!(Command::new("chown")
                .args(["65534:65534", path.to_str().unwrap()])
                .status()
                .unwrap()
                .success());
        }
    }

    /// A cluster without TLS.
    pub fn start() -> Pg {
        Self::start_with(None)
    }

    /// A cluster with `ssl=on` serving `cert` (PEM: the server's certificate, then the
    /// intermediates it sends along) and `key` (its PEM private key). Both are copied into the
    /// cluster's dir with the owner and mode the server demands of a key (its user, 0600).
    pub fn start_tls(cert: &Path, key: &Path) -> Pg {
        Self::start_with(Some((cert, key)))
    }

    fn start_with(tls: Option<(&Path, &Path)>) -> Pg {
        let bin = pg_bin();
        let dir = tempfile::tempdir().unwrap();
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        if as_root {
            assert!(Command::new("chown")
                .args(["65534:65534", dir.path().to_str().unwrap()])
                .status()
                .unwrap()
                .success());
        }
        let pg = Pg {
            bin,
            dir,
            port: free_port(),
            as_root,
        };
        let o = pg
            .server_cmd("initdb")
            .args(["-D", pg.data().to_str().unwrap()])
            .args(["-U", "postgres", "-E", "UTF8", "--no-instructions"])
            // the superuser only through the socket in the temp dir; TCP needs a password
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            pg.port,
            pg.dir.path().display()
        );
        if let Some((cert, key)) = tls {
            let (c, k) = (
                pg.dir.path().join("server.crt"),
                pg.dir.path().join("server.key"),
            );
            std::fs::copy(cert, &c).unwrap();
            std::fs::copy(key, &k).unwrap();
            pg.own(&c, 0o644);
            pg.own(&k, 0o600);
            opts.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                c.display(),
                k.display()
            ));
        }
        let o = pg
            .server_cmd("pg_ctl")
            .args([
                "-D",
                pg.data().to_str().unwrap(),
                "-w",
                "-t",
                "30",
                "-o",
                &opts,
            ])
            .args(["-l", pg.dir.path().join("log").to_str().unwrap(), "start"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&o.stderr),
            std::fs::read_to_string(pg.dir.path().join("log")).unwrap_or_default()
        );
        pg
    }

    /// psql as the superuser through the socket; panics unless it succeeds; its output trimmed.
    pub fn admin_sql(&self, db: &str, sql: &str) -> String {
        let o = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                self.dir.path().to_str().unwrap(),
                "-p",
                &self.port.to_string(),
            ])
            .args([
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// psql over TCP to 127.0.0.1 with a password, as an application would log in.
    pub fn login(&self, user: &str, password: &str, db: &str, sql: &str) -> Output {
        self.login_with("host=127.0.0.1", user, password, db, sql)
    }

    /// psql over TCP with a password and the libpq connection parameters `params` (keyword=value
    /// pairs, e.g. `host=db.example.svc hostaddr=127.0.0.1 sslmode=verify-full
    /// sslrootcert=/ca.pem`: libpq connects to hostaddr and checks the server's certificate
    /// against host). The port, user and database are this cluster's and the arguments'; the
    /// environment's PG* variables do not reach psql, so only `params` decide.
    pub fn login_with(
        &self,
        params: &str,
        user: &str,
        password: &str,
        db: &str,
        sql: &str,
    ) -> Output {
        let conninfo = format!("{params} port={} user={user} dbname={db}", self.port);
        let mut c = Command::new(self.bin.join("psql"));
        for (k, _) in std::env::vars_os() {
            if k.to_str().is_some_and(|k| k.starts_with("PG")) {
                c.env_remove(k);
            }
        }
        c.arg(conninfo)
            .args(["-w", "-v", "ON_ERROR_STOP=1", "-tAc", sql])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "5")
            .output()
            .unwrap()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = self
            .server_cmd("pg_ctl")
            .args([
                "-D",
                self.data().to_str().unwrap(),
                "-m",
                "immediate",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
