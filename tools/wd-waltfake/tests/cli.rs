//! The binary: one JSON line of URLs once listening, a clean exit on SIGTERM, exit codes 2/3.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wd-waltfake");

#[test]
fn prints_the_urls_serves_and_stops_on_sigterm() {
    let mut child = Command::new(BIN)
        .args(["--replicas", "2", "--seed", "9"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let urls: serde_json::Value = serde_json::from_str(&line).unwrap();
    for service in ["issuer", "verifier", "wallet"] {
        assert_eq!(
            urls[service]["replicas"].as_array().unwrap().len(),
            2,
            "{line}"
        );
        assert!(urls[service]["balanced"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"));
    }
    let livez = format!("{}/livez", urls["wallet"]["replicas"][1].as_str().unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async { reqwest::get(&livez).await.unwrap().status() });
    assert_eq!(status, 200);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(
            Instant::now() < deadline,
            "wd-waltfake did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
}

#[test]
fn bad_input_is_exit_2_and_an_unreachable_redis_exit_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (args, code, says) in [
        (vec!["--replicas", "0"], 2, "--replicas"),
        (vec!["--shared-key"], 2, "--shared-key"),
        (
            vec!["--redis", "http://127.0.0.1:6379"],
            2,
            "expected redis://HOST:PORT",
        ),
        (
            vec!["--redis", &format!("redis://127.0.0.1:{port}")],
            3,
            "redis",
        ),
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("wd-waltfake: ") && stderr.contains(says),
            "{stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(out.stdout.is_empty());
    }
}
