"""Issue 16: wd-verify finds every call path that involves the platform's Vault allowed, and
nothing else opened. The umbrella on the Helm engine for the local and prod profiles with the
three Vault options on — dynamic database credentials (Vault's database engine -> the shared
Postgres), the wallet's keys in Transit (the wallet -> Vault, URL in registration-defaults.conf)
and the issuer's key in Transit (the issuer -> Vault, URL inside the TSE key reference the app
mounts) — is verified as k8s-deploy.sh verifies it; each of the three NetworkPolicies that
open those paths is then taken away and wd-verify must name the call it blocks. The default
renders (options off) keep their findings: no Vault call without its option, no warning about
Vault. Which call each NetworkPolicy is for comes from config/scenarios/waltid.yaml
`verify.platformServices` (vault)."""

import functools

import pytest
import yaml

import test_charts as tc
import test_verify as tv
from test_dynamic_db import GENERATORS, ON as DYNAMIC_DB

PROFILES = ["local", "prod"]
MONITORING = "monitoring.coreos.com/v1"
TRANSIT = {"verifiably-go": {"transit": {"enabled": True}},
           "walt-wallet": {"transit": {"enabled": True, "secretName": "waltid-wallet-transit"}}}
# The wallet's token Secret is the operator's opt-in (charts/walt-wallet values transit.secretName).
EXTERNAL = ["--external", "Secret/waltid-wallet-transit"]
ISSUER = "Deployment/waltid/waltid-walt-issuer [walt-issuer]"
WALLET = "Deployment/waltid/waltid-walt-wallet [walt-wallet]"
VAULT = "PlatformService/vault/vault"


@functools.lru_cache(maxsize=None)
def render_on(profile):
    """The profile as test_verify.py renders it, with the three options on and the CRDs they need
    (ESO's generators for VaultDynamicSecret): (values, documents)."""
    values, _, _, _ = tc.render_case(f"umbrella/{profile}")
    values = tc.deep_merge(tc.deep_merge(values, DYNAMIC_DB), TRANSIT)
    rendered = tc.render_chart(tc.UMBRELLA, values, api_versions=(tc.ESO, GENERATORS, MONITORING))
    return values, [d for p, t in sorted(rendered.items()) if not p.endswith("NOTES.txt") for d in yaml.safe_load_all(t) if d]


def verify(profile, docs, values, *extra):
    text = "".join("---\n" + yaml.safe_dump(d) for d in docs)
    out = tv.plans(tv.PROFILES[profile])
    return tv.wd_verify(text, *tv.orchestrator_flags(values), *tv.NODES[profile],
                        "--render-plan", str(out / "render-plan.json"),
                        "--secret-plan", str(out / "secrets" / "secret-plan.json"), *EXTERNAL, *extra)


def vault_calls(report):
    return [c for c in report["calls"] if c["from"] == VAULT or c["resolvesTo"] == "Service vault/vault"]


def warnings(report, check=None):
    return sorted(f["message"] for f in report["findings"] if f["severity"] == "warning" and (check is None or f["check"] == check))


def policy_names(docs):
    return {d["metadata"]["name"] for d in docs if d["kind"] == "NetworkPolicy"}


def expected_calls(docs):
    """(from, source prefix, resolves to) of the three Vault calls in this render."""
    [pg] = [d["metadata"]["name"] for d in docs if d["kind"] == "Cluster"]
    gens = ", ".join(d["metadata"]["name"] for d in docs if d["kind"] == "VaultDynamicSecret")
    return sorted([
        (ISSUER, "Secret waltid-issuer-transit key issuerKey (issuer-transit-key), volume issuer-transit of Deployment/waltid/waltid-verifiably-go", "Service vault/vault"),
        (WALLET, "ConfigMap waltid-walt-wallet-config: registration-defaults.conf server", "Service vault/vault"),
        (VAULT, f"VaultDynamicSecret {gens} (Vault's database engine", f"Service waltid/{pg}-rw"),
    ])


@pytest.mark.parametrize("profile", PROFILES)
def test_every_vault_call_is_found_allowed_and_nothing_else_is_opened(profile):
    values, docs = render_on(profile)
    assert {"waltid-postgres-from-vault", "waltid-walt-issuer-to-vault", "waltid-walt-wallet-to-vault"} <= policy_names(docs)
    report = verify(profile, docs, values)
    tv.show(report)
    assert tv.errors(report) == [], [f["message"] for f in tv.errors(report)]
    calls = vault_calls(report)
    got = sorted((c["from"], c["source"], c["resolvesTo"]) for c in calls)
    want = expected_calls(docs)
    assert [(f, r) for f, _, r in got] == [(f, r) for f, _, r in want], got
    assert all(s.startswith(p) for (_, s, _), (_, p, _) in zip(got, want)), got
    assert all(c["ok"] for c in calls), calls
    # the rules that open the three paths are used; the allowed-but-unused flows are the same as
    # with the options off (none about Vault), and no rule of the scenario went unapplied
    off = tv.run_profile(profile)
    assert not [m for m in warnings(report, "call-path/unused-flow") if "vault" in m.lower()]
    assert warnings(report, "call-path/unused-flow") == warnings(off, "call-path/unused-flow")
    assert not warnings(report, "call-path/rule")
    # --strict turns exactly those same unused flows into errors, nothing about Vault
    strict = verify(profile, docs, values, "--strict")
    assert sorted(f["message"] for f in tv.errors(strict)) == warnings(off, "call-path/unused-flow")
    # the generators are read (the condition of Vault's call), not counted as ignored
    assert "VaultDynamicSecret" not in report["summary"].get("ignoredKinds", {})


# policy -> (check, what the error must name): the blocked caller and the call's target
BLOCKED = {
    "postgres-from-vault": ("call-path/ingress", [VAULT, "-rw.waltid.svc:5432", "only accepts traffic allowed by NetworkPolicy"]),
    "walt-issuer-to-vault": ("call-path/egress", ["Deployment/waltid/waltid-walt-issuer calls vault.vault.svc:8200", "issuerKey"]),
    "walt-wallet-to-vault": ("call-path/egress", ["Deployment/waltid/waltid-walt-wallet calls http://vault.vault.svc:8200/v1/transit", "registration-defaults.conf"]),
}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("policy", list(BLOCKED))
def test_without_its_network_policy_the_vault_call_is_an_error(profile, policy):
    values, docs = render_on(profile)
    name = f"{tc.RELEASE}-{policy}"
    kept = [d for d in docs if not (d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == name)]
    assert len(kept) == len(docs) - 1, f"{name} is rendered once"
    report = verify(profile, kept, values)
    check, words = BLOCKED[policy]
    errs = tv.errors(report)
    assert len(errs) == 1, [f["message"] for f in errs]
    assert errs[0]["check"] == check and all(w in errs[0]["message"] for w in words), errs[0]["message"]
    assert [c["ok"] for c in vault_calls(report)].count(False) == 1


@pytest.mark.parametrize("profile", list(tv.PROFILES))
def test_default_renders_have_the_issuers_vault_call_only_and_no_new_warning(profile):
    """Options as the profiles ship them: only the issuer signs through Transit (the umbrella's
    verifiably-go transit.enabled), so its call is the one Vault call, used by the one Vault rule;
    with that option off too, no Vault call and no Vault rule at all."""
    report = tv.run_profile(profile)
    text, values = tv.manifests(profile)
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert tv.errors(report) == [], [f["message"] for f in tv.errors(report)]
    vault_rules = sorted(n for n in policy_names(docs) if "vault" in n)
    assert vault_rules == ["waltid-walt-issuer-to-vault"], vault_rules
    assert [(c["from"], c["ok"]) for c in vault_calls(report)] == [(ISSUER, True)]
    assert not [m for m in warnings(report) if "vault" in m.lower()], warnings(report)
    # what the warnings are without the option: the same list, minus nothing
    off_values = tc.deep_merge(values, {"verifiably-go": {"transit": {"enabled": False}}})
    rendered = tc.render_chart(tc.UMBRELLA, off_values, api_versions=(tc.ESO, MONITORING))
    off_docs = [d for p, t in sorted(rendered.items()) if not p.endswith("NOTES.txt") for d in yaml.safe_load_all(t) if d]
    assert not [n for n in policy_names(off_docs) if "vault" in n]
    args = tv.orchestrator_flags(off_values) + tv.NODES[profile]
    if tv.PROFILES[profile]:
        out = tv.plans(tv.PROFILES[profile])
        args += ["--render-plan", str(out / "render-plan.json"), "--secret-plan", str(out / "secrets" / "secret-plan.json")]
    off = tv.wd_verify("".join("---\n" + yaml.safe_dump(d) for d in off_docs), *args)
    assert vault_calls(off) == []
    assert warnings(off) == warnings(report)


# Vault on TLS (terraform/platform vault_tls = "on"; terraform/workloads layers, as k8s-deploy.sh
# templates them): the CA's root in every pod, https in the generators and the wallet's Transit URL.
HTTPS = "https://vault.vault.svc:8200"
TLS_LAYER = {"global": {"internalCA": {"configMap": "wd-internal-ca"}},
             "walt-issuer": {"vaultCA": {"configMap": "wd-internal-ca"}},
             "walt-wallet": {"vaultCA": {"configMap": "wd-internal-ca"}, "transit": {"server": f"{HTTPS}/v1/transit"}},
             "postgres": {"dynamicCredentials": {"vault": {"server": HTTPS}}}}


@pytest.mark.parametrize("profile", PROFILES)
def test_vault_on_tls_keeps_every_call_allowed_and_every_client_verifying_it(profile):
    values, _ = render_on(profile)
    values = tc.deep_merge(values, TLS_LAYER)
    rendered = tc.render_chart(tc.UMBRELLA, values, api_versions=(tc.ESO, GENERATORS, MONITORING))
    docs = [d for p, t in sorted(rendered.items()) if not p.endswith("NOTES.txt") for d in yaml.safe_load_all(t) if d]
    gens = [d for d in docs if d["kind"] == "VaultDynamicSecret"]
    assert gens and all(g["spec"]["provider"]["server"] == HTTPS and g["spec"]["provider"]["caProvider"] == {"type": "ConfigMap", "name": "wd-internal-ca", "key": "ca.crt"} for g in gens)
    conf = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "waltid-walt-wallet-config")
    assert f'server: "{HTTPS}/v1/transit"' in conf["data"]["registration-defaults.conf"]
    report = verify(profile, docs, values, "--external", "ConfigMap/wd-internal-ca")
    assert tv.errors(report) == [], [f["message"] for f in tv.errors(report)]
    calls = vault_calls(report)
    assert sorted((c["from"], c["resolvesTo"]) for c in calls) == [(f, r) for f, _, r in expected_calls(docs)] and all(c["ok"] for c in calls), calls
    # an https generator without the CA's root is refused at render time
    no_ca = tc.deep_merge(values, {"global": {"internalCA": {"configMap": ""}}})
    with pytest.raises(Exception, match="global.internalCA.configMap"):
        tc.render_chart(tc.UMBRELLA, no_ca, api_versions=(tc.ESO, GENERATORS, MONITORING))
