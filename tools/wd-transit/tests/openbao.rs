//! wd-transit against a REAL OpenBao dev server.

use wd_testsupport::openbao;

use openbao::{dev, http};
use std::process::Output;
use wd_testsupport::cli::{json, json_ok, vault_command};

/// The binary under test: this crate's, or $WD_TRANSIT_BIN (to run these tests against another
/// build, e.g. to show a regression test fails on the code before a fix).
fn bin() -> std::path::PathBuf {
    std::env::var_os("WD_TRANSIT_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_wd-transit").into())
}

fn run(addr: &str, token: &str, args: &[&str]) -> Output {
    vault_command(bin(), addr, token)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn keys_are_created_once_rotate_and_keep_verifying() {
    let bao = dev();
    let a = bao.addr.as_str();
    // init twice: created, then kept; non-exportable, deletion disabled; the mount is enabled
    let first = json_ok(&run(a, "root", &["init"]));
    assert_eq!(first["kind"], "TransitKeys");
    let k: Vec<(&str, &str, u64, bool, bool)> = first["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["name"].as_str().unwrap(),
                k["action"].as_str().unwrap(),
                k["latestVersion"].as_u64().unwrap(),
                k["exportable"].as_bool().unwrap(),
                k["deletionAllowed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        k,
        [
            ("issuer", "created", 1, false, false),
            ("wallet", "created", 1, false, false)
        ]
    );
    let again = json_ok(&run(a, "root", &["init"]));
    assert!(again["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["action"] == "kept" && k["latestVersion"] == 1));
    assert_eq!(
        json_ok(&run(
            a,
            "root",
            &["init", "verifier", "--type", "ecdsa-p256"]
        ))["keys"][0]["type"],
        "ecdsa-p256"
    );

    // a signature made before rotate still verifies after it
    let sig = json_ok(&run(
        a,
        "root",
        &["sign", "issuer", "--input", "credential payload"],
    ));
    let signature = sig["signature"].as_str().unwrap().to_string();
    assert!(signature.starts_with("vault:v1:"));
    let rotated = json_ok(&run(a, "root", &["rotate", "issuer"]));
    assert_eq!(rotated["keys"][0]["latestVersion"], 2);
    assert_eq!(rotated["keys"][0]["versions"], serde_json::json!([1, 2]));
    let v = json_ok(&run(
        a,
        "root",
        &[
            "verify",
            "issuer",
            "--input",
            "credential payload",
            "--signature",
            &signature,
        ],
    ));
    assert_eq!(v["valid"], true);
    assert!(
        json_ok(&run(a, "root", &["sign", "issuer", "--input", "x"]))["signature"]
            .as_str()
            .unwrap()
            .starts_with("vault:v2:")
    );
    // a tampered input does not verify: exit 1
    let bad = run(
        a,
        "root",
        &[
            "verify",
            "issuer",
            "--input",
            "credential paylOad",
            "--signature",
            &signature,
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(json(&bad)["valid"], false);
    // status shows the versions; config retires version 1, after which its signatures fail
    let st = json_ok(&run(a, "root", &["status", "issuer"]));
    assert_eq!(
        (
            st["keys"][0]["minDecryptionVersion"].as_u64(),
            st["keys"][0]["latestVersion"].as_u64()
        ),
        (Some(1), Some(2))
    );
    let cfg = json_ok(&run(
        a,
        "root",
        &["config", "issuer", "--min-decryption-version", "2"],
    ));
    assert_eq!(cfg["keys"][0]["minDecryptionVersion"], 2);
    assert_eq!(
        run(
            a,
            "root",
            &[
                "verify",
                "issuer",
                "--input",
                "credential payload",
                "--signature",
                &signature
            ]
        )
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        run(
            a,
            "root",
            &["config", "issuer", "--min-decryption-version", "9"]
        )
        .status
        .code(),
        Some(2)
    );

    // the private key never leaves: export is refused by the key's configuration
    let (code, body) = http("GET", a, "transit/export/signing-key/issuer", "root", None);
    assert_eq!(code, 400);
    assert!(body["errors"][0]
        .as_str()
        .unwrap()
        .contains("not exportable"));
    let (_, body) = http("DELETE", a, "transit/keys/wallet", "root", None);
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("deletion is not allowed"),
        "{body}"
    );

    // walt.id's key reference (TSEKey at v0.18.2): the token is an env reference unless
    // --show-secrets
    let r = json_ok(&run(a, "root", &["ref", "wallet"]));
    assert_eq!(
        r["reference"],
        serde_json::json!({"type": "tse", "server": format!("{a}/v1/transit"), "auth": {"accessKey": "${WALLET_TRANSIT_TOKEN}"}, "id": "wallet", "_keyType": "Ed25519"})
    );
    assert!(r["did"].as_str().unwrap().starts_with("did:jwk:"));
    assert!(
        !String::from_utf8_lossy(&run(a, "root", &["ref", "wallet"]).stdout).contains("\"root\"")
    );
    assert_eq!(
        json_ok(&run(a, "root", &["ref", "wallet", "--show-secrets"]))["reference"]["auth"]
            ["accessKey"],
        "root"
    );
    // a rotated key: walt.id 0.18.2 cannot sign with it (reads version 1, strips vault:v1:)
    let o = run(a, "root", &["ref", "issuer"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot sign with a rotated key"));
    // an ECDSA key would sign ASN.1 through walt.id, not a JWS signature
    let o = run(a, "root", &["ref", "verifier"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ASN.1"));
}

#[test]
fn refusals_are_exit_3_or_2() {
    let bao = dev();
    let a = bao.addr.as_str();
    let o = run(a, "wrong", &["status"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("refused the token"));
    assert_eq!(
        run(a, "root", &["status", "nope"]).status.code(),
        Some(2),
        "unknown key: usage"
    );
    assert_eq!(run(a, "root", &["init", "bad/name"]).status.code(), Some(2));
    assert_eq!(http("PUT", a, "sys/seal", "root", None).0, 204);
    let o = run(a, "root", &["init"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is sealed"));
}

#[test]
fn bad_signatures_unknown_keys_and_bad_cas_are_exit_2() {
    let bao = dev();
    let a = bao.addr.as_str();
    json_ok(&run(a, "root", &["init", "issuer"]));
    let good = json_ok(&run(a, "root", &["sign", "issuer", "--input", "x"]))["signature"]
        .as_str()
        .unwrap()
        .to_string();
    let exit2 = |args: &[&str], expect: &str| {
        let o = run(a, "root", args);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {expect:?} not in {err}");
        assert!(o.stdout.is_empty(), "{args:?}: nothing printed");
    };
    for sig in ["garbage", "vault:v1:!!!not-base64", "vault:vX:AAAA", ""] {
        exit2(
            &["verify", "issuer", "--input", "x", "--signature", sig],
            "not a Transit signature",
        );
    }
    // well-formed, but of a version the key never had: Vault refuses it as invalid input
    exit2(
        &[
            "verify",
            "issuer",
            "--input",
            "x",
            "--signature",
            &good.replace("vault:v1:", "vault:v9:"),
        ],
        "--signature: transit key issuer cannot check it",
    );
    exit2(
        &["sign", "nope", "--input", "x"],
        "transit key nope does not exist",
    );
    exit2(
        &["verify", "nope", "--input", "x", "--signature", &good],
        "transit key nope does not exist",
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("garbage-ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    exit2(
        &["--vault-cacert", ca.to_str().unwrap(), "status", "issuer"],
        "garbage-ca.pem: not a PEM certificate",
    );
    // the good signature still verifies
    assert_eq!(
        json_ok(&run(
            a,
            "root",
            &["verify", "issuer", "--input", "x", "--signature", &good]
        ))["valid"],
        true
    );
}
