//! The render context: everything a template may reference, computed once.
//!
//! URL rules (waltid-facts §5): k8s flavor `<scheme>://<host>.<domain>`; compose flavor
//! `http://<publicHost>:<port>`, or `hostsPattern` (printf `%s`) with the component's slug.

use crate::values;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use wd_core::docs::inventory::Inventory;
use wd_core::docs::secret_plan::SecretPlan;
use wd_core::{WdError, WdResult};

/// A scenario's components and display data: wd-core's typed scenario (the one home of a
/// component: service, chart, slug, host, port, scheme, aliases, login).
pub use wd_core::scenario::{Component, ScenarioRender};

/// Container path of the verifier's request signing key (mounted from its Secret).
pub const VERIFIER_SIGNING_KEY_PATH: &str = "/waltid-verifier-api/secrets/request-signing.key.pem";

pub struct Inputs<'a> {
    pub scenario: &'a str,
    pub flavor: &'a str,
    pub target: &'a str,
    pub values: &'a Value,
    pub render: &'a ScenarioRender,
    pub plan: &'a SecretPlan,
    pub demo_password: Option<String>,
}

fn str_at<'v>(v: &'v Value, path: &str) -> WdResult<&'v str> {
    values::get(v, path)
        .and_then(|x| x.as_str())
        .ok_or_else(|| {
            WdError::input(format!(
                "values: {path} must be a string; set it in a values file or with --set {path}=…"
            ))
        })
}

/// What the render uses of an Inventory: its scenario and each service's image. The rest of
/// the document is only checked ([`crate::InventoryCheck`] parses all of it, typed, on another
/// thread meanwhile), so this is read from the same text with every other field skipped.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct InventoryUse {
    #[serde(default)]
    pub sources: SourcesUse,
    #[serde(default)]
    pub services: Vec<ServiceUse>,
}

#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct SourcesUse {
    #[serde(default)]
    pub scenario: Option<String>,
}

#[derive(Debug, PartialEq, Deserialize)]
pub struct ServiceUse {
    pub name: String,
    #[serde(default)]
    pub image: Option<ImageUse>,
}

#[derive(Debug, PartialEq, Deserialize)]
pub struct ImageUse {
    pub repository: String,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
}

impl From<&Inventory> for InventoryUse {
    fn from(inv: &Inventory) -> InventoryUse {
        InventoryUse {
            sources: SourcesUse {
                scenario: inv.sources.scenario.clone(),
            },
            services: inv
                .services
                .iter()
                .map(|s| ServiceUse {
                    name: s.name.clone(),
                    image: s.image.as_ref().map(|i| ImageUse {
                        repository: i.repository.clone(),
                        tag: i.tag.clone(),
                        digest: i.digest.clone(),
                    }),
                })
                .collect(),
        }
    }
}

/// Images from the inventory override the default ones (only those of config/values/default.yaml).
pub fn inventory_images(inv: &InventoryUse, render: &ScenarioRender) -> Value {
    let mut out = Map::new();
    for (name, c) in &render.components {
        if let Some(img) = inv
            .services
            .iter()
            .find(|s| s.name == c.service)
            .and_then(|s| s.image.as_ref())
        {
            let tag = match (&img.tag, &img.digest) {
                (Some(t), _) => t.clone(),
                (None, Some(d)) => d.clone(),
                (None, None) => "latest".into(),
            };
            out.insert(
                name.clone(),
                json!({"repository": img.repository, "tag": tag}),
            );
        }
    }
    json!({ "images": out })
}

pub fn build(i: &Inputs<'_>) -> WdResult<Value> {
    let v = i.values;
    let tls = values::get(v, "tls")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let domain = str_at(v, "domain")?;
    let public_host = str_at(v, "publicHost")?;
    let pattern = values::get(v, "hostsPattern")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !pattern.is_empty() && pattern.matches("%s").count() != 1 {
        return Err(WdError::input(format!("values: hostsPattern {pattern:?} must contain %s exactly once (e.g. https://%s.example.org)")));
    }
    let mut urls = Map::new();
    let mut hosts = Map::new();
    let mut ports = Map::new();
    let mut public = Map::new();
    for (name, c) in &i.render.components {
        let slug = values::get(v, &format!("slugs.{name}"))
            .and_then(Value::as_str)
            .unwrap_or(&c.slug);
        let (url, host) = if i.flavor == "k8s" && !c.public {
            // In-cluster only: the Service the umbrella's subchart creates (<release>-<chart>).
            let release = str_at(v, "release")?;
            let ns = str_at(v, "namespace")?;
            let host = format!("{release}-{}.{ns}.svc", c.chart);
            (format!("http://{host}:{}", c.cluster_port()), host)
        } else if i.flavor == "k8s" {
            let scheme = if tls { "https" } else { "http" };
            let host = format!("{}.{domain}", c.host);
            (format!("{scheme}://{host}"), host)
        } else if !pattern.is_empty() {
            let url = pattern.replace("%s", slug);
            let host = url
                .split("://")
                .nth(1)
                .unwrap_or(&url)
                .split(['/', ':'])
                .next()
                .unwrap_or("")
                .to_string();
            (url, host)
        } else {
            (
                format!("{}://{public_host}:{}", c.scheme, c.port),
                public_host.to_string(),
            )
        };
        urls.insert(name.clone(), Value::String(url));
        hosts.insert(name.clone(), Value::String(host));
        ports.insert(name.clone(), json!(c.port));
        public.insert(name.clone(), json!(c.public));
    }
    // The umbrella's component table, by chart (its Ingresses, NetworkPolicies, NOTES range it).
    let mut charts = Map::new();
    for (name, c) in &i.render.components {
        let row = json!({"component": name, "service": c.service, "host": c.host,
            "port": c.cluster_port(), "scheme": c.scheme.as_str(), "public": c.public});
        charts.insert(c.chart.clone(), row);
    }
    for (name, a) in &i.render.addons {
        let row = json!({"component": name, "port": a.port, "public": false});
        charts.insert(a.chart.clone(), row);
    }
    let roles = values::strings(v, "roles");
    for r in &roles {
        if !["issuer", "holder", "verifier"].contains(&r.as_str()) {
            return Err(WdError::input(format!(
                "values: roles: unknown role {r:?}; use issuer, holder, verifier"
            )));
        }
    }
    let redis = values::get(v, "persistence.redis.enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut features = Map::new();
    let mut dev_mode = Map::new();
    for svc in ["issuer", "verifier", "wallet"] {
        let mut f = values::strings(v, &format!("{svc}.features"));
        if redis && svc != "wallet" && !f.iter().any(|x| x == "persistence") {
            f.push("persistence".into());
        }
        dev_mode.insert(svc.into(), json!(f.iter().any(|x| x == "dev-mode")));
        features.insert(svc.into(), json!(f));
    }
    // The umbrella's ExternalSecrets: one per Kubernetes Secret of the plan (one source).
    let mut external: Vec<Value> = Vec::new();
    for s in &i.plan.secrets {
        let item =
            json!({"secretKey": s.k8s_key, "remoteKey": s.vault_path, "property": s.vault_key});
        match external
            .iter_mut()
            .find(|e| e["name"] == s.k8s_secret.as_str())
        {
            Some(e) => e["data"].as_array_mut().expect("data is a list").push(item),
            None => {
                let mut e = json!({"name": s.k8s_secret, "data": [item]});
                if let Some(t) = &s.k8s_secret_type {
                    e["type"] = json!(t);
                }
                if !s.k8s_static.is_empty() {
                    e["static"] = json!(s.k8s_static);
                }
                external.push(e);
            }
        }
    }
    // The plan as values once; `secrets` (by name) holds copies of the same entries.
    let secret_list = serde_json::to_value(&i.plan.secrets).expect("plan serialises");
    let mut secrets = Map::new();
    for (s, v) in i
        .plan
        .secrets
        .iter()
        .zip(secret_list.as_array().into_iter().flatten())
    {
        secrets.insert(s.name.replace('-', "_"), v.clone());
    }
    let mut db = values::get(v, "db").cloned().unwrap_or_else(|| json!({}));
    if db.get("host").is_none() {
        return Err(WdError::input(
            "values: db.host is not set; set flavor.<k8s|compose>.db.host or --set db.host=…",
        ));
    }
    if let Some(o) = db.as_object_mut() {
        o.entry("port").or_insert(json!(5432));
        db_tls(o, i.flavor, v)?;
    }
    let profile = values::get(v, "profile")
        .and_then(Value::as_str)
        .unwrap_or("local");
    let roles = json!({"issuer": roles.iter().any(|r| r == "issuer"), "holder": roles.iter().any(|r| r == "holder"), "verifier": roles.iter().any(|r| r == "verifier")});
    let wso2_proxy_port = if i.flavor == "k8s" {
        if tls {
            443
        } else {
            80
        }
    } else {
        i.render
            .components
            .get("wso2is")
            .map(|c| c.port)
            .unwrap_or(9443)
    };
    // Built as a map, not with json!: json! copies every value it is given through serde
    // (`to_value`), and the values and tables above are Values already (a third of the
    // context's cost was those copies).
    let mut ctx = Map::new();
    let mut put = |k: &str, v: Value| {
        ctx.insert(k.to_string(), v);
    };
    put("scenario", Value::from(i.scenario));
    put("flavor", Value::from(i.flavor));
    put("target", Value::from(i.target));
    put("profile", Value::from(profile));
    put("values", v.clone());
    put("urls", Value::Object(urls));
    put("hosts", Value::Object(hosts));
    put("ports", Value::Object(ports));
    put("public", Value::Object(public));
    put("components", Value::Object(charts));
    put(
        "images",
        values::get(v, "images")
            .cloned()
            .unwrap_or_else(|| json!({})),
    );
    put("roles", roles);
    put("features", Value::Object(features));
    put("devMode", Value::Object(dev_mode));
    put("db", db);
    put("dpg", i.render.dpg.clone());
    put("secrets", Value::Object(secrets));
    put("secretList", secret_list);
    put("externalSecrets", Value::Array(external));
    put(
        "demoPassword",
        Value::from(i.demo_password.clone().unwrap_or_default()),
    );
    put(
        "verifierSigningKeyPath",
        Value::from(VERIFIER_SIGNING_KEY_PATH),
    );
    put("wso2ProxyPort", Value::from(wso2_proxy_port));
    Ok(Value::Object(ctx))
}

/// db.tls.clusterIssuer set (the internal CA, docs/runbooks/internal-ca.md): cert-manager issues
/// the shared Postgres's certificate for its Services' `.svc` names (the umbrella's
/// templates/postgres.yaml), so every client connects to `<host>.<namespace>.svc` and verifies
/// it: `db.sslmode` verify-full and `db.sslrootcert` (the root every pod mounts) for the
/// templates (db.conf's jdbcUrl, the umbrella values of Keycloak and the app). Unset: nothing
/// added (clients encrypt against CloudNativePG's own CA without verifying).
fn db_tls(db: &mut Map<String, Value>, flavor: &str, v: &Value) -> WdResult<()> {
    let tls = db.get("tls").cloned().unwrap_or_else(|| json!({}));
    let Some(issuer) = tls.get("clusterIssuer").and_then(Value::as_str) else {
        return Ok(());
    };
    if flavor != "k8s" {
        return Err(WdError::input(format!(
            "values: db.tls.clusterIssuer={issuer} is for --flavor k8s (cert-manager issues the certificate); drop it for compose"
        )));
    }
    let root = tls.get("rootCert").and_then(Value::as_str).ok_or_else(|| {
        WdError::input("values: db.tls.clusterIssuer is set but db.tls.rootCert is not; set it to the internal CA's root in the pods (config/values/default.yaml)")
    })?;
    let ns = values::get(v, "namespace")
        .and_then(Value::as_str)
        .ok_or_else(|| WdError::input("values: db.tls.clusterIssuer needs `namespace` (the clients use the Service's <name>.<namespace>.svc, the name the certificate carries)"))?;
    let host = db.get("host").and_then(Value::as_str).unwrap_or_default();
    if !host.contains('.') {
        // The internal CA signs only names under svc / svc.cluster.local, never a bare one
        // (tools/wd-secrets/src/pki.rs), so verify-full needs the qualified name.
        db.insert("host".into(), json!(format!("{host}.{ns}.svc")));
    }
    db.insert("sslmode".into(), json!("verify-full"));
    db.insert("sslrootcert".into(), json!(root));
    Ok(())
}
