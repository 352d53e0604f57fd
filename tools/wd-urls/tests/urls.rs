//! wd-urls from the fake API server and offline from a RenderPlan.

use wd_testsupport::fakekube;

use serde_json::{json, Value};
use std::process::{Command, Output};
use wd_testsupport::cli::json_ok;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wd-urls"))
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

fn ingress(name: &str, host: &str, tls: bool) -> Value {
    let mut i = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": "waltid"},
        "spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": name, "port": {"name": "http"}}}}]}}]}});
    if tls {
        i["spec"]["tls"] = json!([{"hosts": [host], "secretName": "t"}]);
    }
    i
}

#[test]
fn urls_and_logins_from_the_cluster() {
    let k = fakekube::FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = k.kubeconfig(dir.path());
    k.apply(ingress("waltid-walt-issuer", "issuer.localtest.me", true));
    k.apply(ingress("waltid-keycloak", "auth.localtest.me", true));
    k.apply(ingress("grafana", "grafana.localtest.me", false));
    k.apply(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}, "status": {"loadBalancer": {"ingress": [{"ip": "172.18.255.240"}]}}}));
    k.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "waltid-keycloak-admin", "namespace": "waltid"}, "data": {"password": "czNjcjN0LWtj"}}));
    let kcs = kc.to_str().unwrap();
    let l = json_ok(&run(&["--kubeconfig", kcs]));
    assert_eq!(l["kind"], "UrlList");
    let urls: Vec<(&str, &str)> = l["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["what"].as_str().unwrap(), u["url"].as_str().unwrap()))
        .collect();
    assert!(
        urls.contains(&(
            "walt.id issuer API (swagger)",
            "https://issuer.localtest.me/swagger"
        )),
        "{urls:?}"
    );
    assert!(urls.contains(&("Keycloak admin console", "https://auth.localtest.me/admin")));
    assert!(urls.contains(&("Grafana", "http://grafana.localtest.me")));
    assert!(urls.contains(&(
        "LoadBalancer Service ingress-nginx/ingress-nginx-controller",
        "https://172.18.255.240:443"
    )));
    let kc_login = l["urls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["what"] == "Keycloak admin console")
        .unwrap()["login"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(kc_login, "admin; password: kubectl -n waltid get secret waltid-keycloak-admin -o jsonpath='{.data.password}' | base64 -d");
    let out = String::from_utf8_lossy(&run(&["--kubeconfig", kcs]).stdout).to_string();
    assert!(
        !out.contains("s3cr3t-kc"),
        "no password without --show-secrets"
    );
    // --show-secrets reads the Secret
    let l = json_ok(&run(&["--kubeconfig", kcs, "--show-secrets"]));
    let kc_login = l["urls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["what"] == "Keycloak admin console")
        .unwrap()["login"]
        .clone();
    assert_eq!(kc_login, "admin / s3cr3t-kc");
    drop(k);
    assert_eq!(run(&["--kubeconfig", kcs]).status.code(), Some(3));
}

#[test]
fn urls_offline_from_a_render_plan() {
    let dir = tempfile::tempdir().unwrap();
    let plan = wd_testsupport::render_scenario(
        std::path::Path::new(env!("CARGO_BIN_EXE_wd-urls")),
        "waltid",
        dir.path(),
    );
    let l = json_ok(&run(&["--render-plan", plan.to_str().unwrap()]));
    assert_eq!(l["source"], "render-plan");
    let urls: Vec<&str> = l["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["url"].as_str().unwrap())
        .collect();
    assert!(
        urls.contains(&"http://app.localtest.me")
            && urls.contains(&"http://wallet.localtest.me/swagger")
            && urls.contains(&"http://auth.localtest.me/admin"),
        "{urls:?}"
    );
}

#[test]
fn component_names_and_aliases_resolve_to_their_chart() {
    for (name, chart) in [
        ("issuer", "walt-issuer"),
        ("issuer-api", "walt-issuer"),
        ("walt-wallet", "walt-wallet"),
        ("verifier-api", "walt-verifier"),
        ("app", "verifiably-go"),
        ("verifiably-go", "verifiably-go"),
        ("auth", "keycloak"),
        ("wso2is", "wso2is"),
        ("libretranslate", "libretranslate"),
        ("redis", "redis"),
    ] {
        let o = run(&["--component", name]);
        assert_eq!(
            (o.status.code(), String::from_utf8_lossy(&o.stdout).trim()),
            (Some(0), chart),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let o = run(&["--component", "postgres"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "wd-urls: unknown component postgres; use app, issuer, keycloak, libretranslate, verifier, wallet, wso2is or redis\n"
    );
}
