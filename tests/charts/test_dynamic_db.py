"""Issue 16 option 3, dynamic database credentials: the umbrella with
postgres.dynamicCredentials off and on, for the local and prod profiles, on the Helm engine;
kubernetes-validate strict on every built-in object, checkov 0 failed; the wiring a reviewer
checks (generators, ExternalSecrets, CloudNativePG roles, the consumers' env) and that the
chart, config/secrets.yaml and wd-secrets' Rust test agree on names and SQL."""

import re

import helm_python as helm
import pytest
import yaml

from test_charts import (ROOT, UMBRELLA, assert_checkov_clean, assert_lint_clean, validate_strict, ESO, build_dependencies, deep_merge, deployment, env_of,
                         load_docs, render_chart, secret_plan, values_file, wd_render)

GENERATORS = "generators.external-secrets.io/v1alpha1"
ON = {"postgres": {"dynamicCredentials": {"enabled": True}},
      "walt-wallet": {"database": {"usernameFromSecret": True}},
      "keycloak": {"database": {"usernameFromSecret": True}}}
PROFILES = {
    "local": lambda: [wd_render(), values_file("values-local.yaml")],
    "prod": lambda: [wd_render(target="onprem"), values_file("values-prod.yaml")],
}


def render(profile, dynamic, api_versions=(ESO, GENERATORS)):
    build_dependencies()
    values = {}
    for layer in PROFILES[profile]() + ([ON] if dynamic else []):
        values = deep_merge(values, layer)
    return values, load_docs(render_chart(UMBRELLA, values, api_versions=api_versions))


def kind(docs, k):
    return [d for _, d in docs if d["kind"] == k]


def cluster(docs):
    return kind(docs, "Cluster")[0]


def consumers():
    return yaml.safe_load((UMBRELLA / "values.yaml").read_text())["postgres"]["dynamicCredentials"]["consumers"]


@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("dynamic", [False, True])
def test_renders_and_validates(profile, dynamic):
    values, docs = render(profile, dynamic)
    assert_lint_clean(UMBRELLA, values, namespace="waltid")
    validate_strict(docs, {"postgresql.cnpg.io", "external-secrets.io", "generators.external-secrets.io", "monitoring.coreos.com"})
    gens = kind(docs, "VaultDynamicSecret")
    names = {c["secret"] for c in consumers()}
    external = {d["metadata"]["name"]: d for d in kind(docs, "ExternalSecret")}
    assert names <= set(external), "every consumer's Secret is still created"
    if not dynamic:
        assert not gens
        assert all("dataFrom" not in external[n]["spec"] for n in names)
        assert cluster(docs)["spec"]["bootstrap"]["initdb"]["secret"]["name"] == "waltid-postgres-app"
        return
    assert {g["metadata"]["name"] for g in gens} == names
    for c in consumers():
        g = next(x for x in gens if x["metadata"]["name"] == c["secret"])
        assert g["spec"]["path"] == f"database/creds/{c['vaultRole']}" and g["spec"]["method"] == "GET"
        k8s = g["spec"]["provider"]["auth"]["kubernetes"]
        assert k8s == {"mountPath": "kubernetes", "role": "waltid-db-credentials", "serviceAccountRef": {"name": "waltid-db-credentials"}}
        es = external[c["secret"]]["spec"]
        # the static ExternalSecret of the same name is not rendered next to it
        assert "data" not in es
        assert es["dataFrom"] == [{"sourceRef": {"generatorRef": {"apiVersion": GENERATORS, "kind": "VaultDynamicSecret", "name": c["secret"]}}}]
        assert es["refreshInterval"] == "12h"
        assert es["target"]["template"]["metadata"]["labels"] == {"waltid/rollout-on-change": "true"}
        assert es["target"]["template"]["type"] == "kubernetes.io/basic-auth"
    # Vault's engine reaches Postgres (the namespace denies by default)
    np = next(d for d in kind(docs, "NetworkPolicy") if d["metadata"]["name"].endswith("postgres-from-vault"))
    assert np["spec"]["podSelector"]["matchLabels"] == {"cnpg.io/cluster": "waltid-pg"}
    peer = np["spec"]["ingress"][0]["from"][0]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "vault"}
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "vault", "component": "server"}
    assert np["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}]
    sa = [d for d in kind(docs, "ServiceAccount") if d["metadata"]["name"] == "waltid-db-credentials"]
    assert sa and sa[0]["automountServiceAccountToken"] is False


def test_cloudnativepg_roles_are_groups_and_vault_admin_administers_them():
    _, docs = render("local", True)
    spec = cluster(docs)["spec"]
    initdb = spec["bootstrap"]["initdb"]
    # the owner is a group: no password Secret, no login
    assert "secret" not in initdb
    sql = initdb["postInitSQL"]
    assert "ALTER ROLE waltid NOLOGIN" in sql
    assert "CREATE ROLE keycloak NOLOGIN" in sql and "CREATE ROLE verifiably LOGIN" in sql
    roles = {r["name"]: r for r in spec["managed"]["roles"]}
    assert roles["keycloak"]["login"] is False and roles["keycloak"]["disablePassword"] is True
    assert "passwordSecret" not in roles["keycloak"]
    assert roles["verifiably"]["passwordSecret"]["name"] == "waltid-postgres-verifiably"
    admin = roles["vault_admin"]
    assert admin["createrole"] is True and admin["login"] is True
    assert admin["passwordSecret"]["name"] == "waltid-postgres-vault"
    assert set(admin["inRoles"]) == {"pg_signal_backend", "waltid", "keycloak"}
    # the same bootstrap wd-secrets' test runs on a real PostgreSQL before `policies --apply`
    rust = (ROOT / "tools/wd-secrets/tests/dynamic_db.rs").read_text()
    body = rust[rust.index("fn bootstrap_like_the_chart"):]
    rust_sql = re.findall(r'^\s+"((?:CREATE ROLE vault_admin|GRANT)[^"]*)",$', body[:body.index("] {")], re.M)
    assert rust_sql and set(rust_sql) <= set(sql), (rust_sql, sql)


def test_consumers_pods_read_user_and_password_from_the_dynamic_secret():
    _, docs = render("local", True)
    wallet = env_of(deployment(docs, "walt-wallet")["spec"]["template"]["spec"]["containers"][0])
    for var in ["DB_USERNAME", "DB_PASSWORD"]:
        ref = wallet[var]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "waltid-postgres-app", var
    assert wallet["DB_USERNAME"]["valueFrom"]["secretKeyRef"]["key"] == "username"
    kc = env_of(deployment(docs, "keycloak")["spec"]["template"]["spec"]["containers"][0])
    assert kc["KC_DB_USERNAME"]["valueFrom"]["secretKeyRef"] == {"name": "waltid-postgres-keycloak", "key": "username"}
    # db.conf takes the user from the environment (waltid-facts §2: quoted ${VAR} is substituted)
    cm = next(d for d in kind(docs, "ConfigMap") if "db.conf" in d.get("data", {}))
    assert 'username = "${DB_USERNAME}"' in cm["data"]["db.conf"]
    # off: the static user, still through the same variable
    _, off = render("local", False)
    wallet = env_of(deployment(off, "walt-wallet")["spec"]["template"]["spec"]["containers"][0])
    assert wallet["DB_USERNAME"] == {"name": "DB_USERNAME", "value": "waltid"}


def test_values_agree_with_config_secrets():
    plan = secret_plan()
    for c in consumers():
        s = next(s for s in plan if c["vaultRole"] in s["consumers"] and "postgres" in s["consumers"])
        assert s["k8sSecret"] == c["secret"] and s["k8sStatic"]["username"] == c["role"]
    dyn = yaml.safe_load((UMBRELLA / "values.yaml").read_text())["postgres"]["dynamicCredentials"]
    admin = next(s for s in plan if s["name"] == "postgres-vault-password")
    assert admin["k8sSecret"] == dyn["adminSecret"] and admin["k8sStatic"]["username"] == dyn["adminRole"]
    assert "vault" in admin["consumers"]


@pytest.mark.parametrize("values,api_versions,message", [
    ({"postgres": {"dynamicCredentials": {"enabled": True}}}, (ESO, GENERATORS), "set walt-wallet.database.usernameFromSecret=true"),
    (ON, (ESO,), "needs External Secrets Operator's generators"),
])
def test_half_configured_option_fails_with_the_fix(values, api_versions, message):
    build_dependencies()
    with pytest.raises(helm.HelmError) as e:
        render_chart(UMBRELLA, values, api_versions=api_versions)
    assert message in str(e.value)


def test_checkov_finds_nothing(tmp_path):
    for profile in PROFILES:
        _, docs = render(profile, True)
        (tmp_path / f"{profile}.yaml").write_text("\n---\n".join(yaml.safe_dump(x) for _, x in docs))
    assert_checkov_clean(tmp_path)
