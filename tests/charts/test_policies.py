"""Admission policies (charts/wd-policies, installed by terraform/platform after Kyverno) and the
Pod Security labels of the scenario's namespace (terraform/workloads), on the real engines:
  - the values Terraform passes per profile, evaluated by the real terraform (the provider-free
    shadow module of tests/deploy/stubs/terraform.py), rendered on the Helm v4 engine;
  - every ClusterPolicy validated against Kyverno's CRD models (cloudcoil-models-kyverno) with
    nothing dropped, the Namespace with kubernetes-validate strict, checkov on the chart;
  - the verifyImages patterns match the app image the umbrella renders (read from the render),
    and no third-party image; the latest-tag rule passes every rendered image;
  - wd-verify's Pod Security check passes on the labelled namespace and names the object and
    field of a pod without runAsNonRoot."""

import json
import re
import subprocess
import sys

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

import test_charts as tc
import test_verify as tv

ROOT = tc.ROOT
CHART = ROOT / "charts/wd-policies"
TF = ROOT / "terraform"
sys.path.insert(0, str(ROOT / "tests/deploy/stubs"))
import terraform as tfake  # noqa: E402  (evaluates a module's pure parts with the real terraform)

KEYLESS = '{keyless_subject="https://github.com/wd-owner/wd/.github/workflows/image.yml@refs/heads/main"}'
PEM = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM\n5/KAQN0/KjHcorm/J5yQrHqy9A+5PFx5pDTXt2Mz/ZsH+3T7LcmSk2U7aw==\n-----END PUBLIC KEY-----\n"
# (case, platform variables): what `terraform apply` of terraform/platform passes per profile
CASES = {
    "local": dict(profile="local"),
    "local-keyless": dict(profile="local", app_image_signature=KEYLESS),
    "prod": dict(profile="prod"),
    "prod-keyless": dict(profile="prod", app_image_signature=KEYLESS),
    "prod-key": dict(profile="prod", app_image_signature="{public_key=" + json.dumps(PEM) + "}"),
    "prod-key-secret": dict(profile="prod", app_image_signature='{public_key_secret="kyverno/wd-cosign", registry_secrets=["ghcr-pull"]}'),
}


def platform(**vars_):
    args = []
    for k, v in dict(kubeconfig_path="~/.kube/x.yaml", lb_mode="metallb", **vars_).items():
        args += ["-var", f"{k}={v}"]
    return tfake.evaluate(TF / "platform", args)


_EVAL = {}


def evaluated(case):
    if case not in _EVAL:
        _EVAL[case] = platform(**CASES[case])
    return _EVAL[case]


def render(values):
    with helm.Chart.load(str(CHART)) as ch:
        return ch.render(values, name="wd-policies", namespace="kyverno")


def policies(case):
    """The ClusterPolicies of a case, rendered with the values Terraform passes, by name."""
    outs = evaluated(case)
    chart = (TF / "platform" / outs["chart__wd_policies"]).resolve()
    assert chart == CHART, chart
    values = yaml.safe_load(outs["res__helm_release__wd_policies__values"][0])
    lint = helm.lint(str(CHART), values, strict=True, namespace="kyverno", kube_version=tc.KUBE_VERSION)
    assert not [m for m in lint.get("messages", []) if m.get("severity") in ("error", "warning")], lint
    docs = [d for p, t in render(values).items() if not p.endswith("NOTES.txt") for d in yaml.safe_load_all(t) if d]
    return values, {d["metadata"]["name"]: d for d in docs}


def _keys(x, p=""):
    out = set()
    if isinstance(x, dict):
        for k, v in x.items():
            out.add(f"{p}.{k}")
            out |= _keys(v, f"{p}.{k}")
    elif isinstance(x, list):
        for v in x:
            out |= _keys(v, f"{p}[]")
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_policies_validate_against_the_kyverno_crd_models(case):
    from cloudcoil.models.kyverno import v1
    _, pols = policies(case)
    signed = "keyless" in case or "key" in case
    assert set(pols) == {"wd-disallow-latest-tag", "wd-require-restricted-fields"} | ({"wd-verify-app-image"} if signed else set())
    for name, d in pols.items():
        assert (d["apiVersion"], d["kind"]) == ("kyverno.io/v1", "ClusterPolicy")
        m = v1.ClusterPolicy.model_validate(d)
        # nothing was dropped: every key we wrote is a field of Kyverno's schema
        assert _keys(m.model_dump(by_alias=True, exclude_none=True)["spec"]) >= _keys(d["spec"]), name
        # every rule judges pods of the scenario's namespace only (Kyverno autogen adds controllers)
        for r in d["spec"]["rules"]:
            assert r["match"] == {"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["waltid"]}}]}, (name, r["name"])


@pytest.mark.parametrize("case", list(CASES))
def test_local_audits_and_prod_enforces(case):
    values, pols = policies(case)
    enforce = case.startswith("prod")
    for d in pols.values():
        assert d["spec"]["validationFailureAction"] == ("Enforce" if enforce else "Audit")
        # a Kyverno outage blocks the namespace only where the policies enforce
        assert d["spec"]["failurePolicy"] == ("Fail" if enforce else "Ignore")
    v = pols.get("wd-verify-app-image")
    if v:
        (rule,) = v["spec"]["rules"]
        (vi,) = rule["verifyImages"]
        # Kyverno 1.12 refuses mutateDigest with Audit (image_verification_types.go Validate)
        assert vi["mutateDigest"] is enforce and vi["verifyDigest"] is enforce and vi["required"] is True
        (att,) = vi["attestors"]
        (entry,) = att["entries"]
        if "keyless" in case:
            assert entry["keyless"]["issuer"] == "https://token.actions.githubusercontent.com"
            # the identity .github/workflows/image.yml signs with (its own cosign verify step)
            assert re.match(r"^https://github\.com/[^/]+/[^/]+/\.github/workflows/image\.yml@", entry["keyless"]["subject"])
        elif case == "prod-key":
            assert entry["keys"]["publicKeys"] == PEM
        else:
            assert entry["keys"]["secret"] == {"name": "wd-cosign", "namespace": "kyverno"}
            assert vi["imageRegistryCredentials"] == {"secrets": ["ghcr-pull"]}
        if case != "prod-key-secret":
            assert "imageRegistryCredentials" not in vi
        assert v["spec"]["background"] is False and v["spec"]["webhookTimeoutSeconds"] <= 30


def kyverno_image(ref):
    """The string Kyverno matches imageReferences against (pkg/utils/image/infos.go at v1.12.6):
    docker.io/ before a first segment that is no registry, `:latest` when neither tag nor digest."""
    first, _, rest = ref.partition("/")
    if not rest or (not re.search(r"[.:]", first) and first != "localhost" and first.lower() == first):
        ref = "docker.io/" + ref
    last = ref.rsplit("/", 1)[1]
    if "@" not in last and ":" not in last:
        ref += ":latest"
    return ref


def wildcard(pattern, name):
    """github.com/IGLOU-EU/go-wildcard v1.0.3 (Kyverno's ext/wildcard): `*` any run, `?` one character."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, name, re.S) is not None


def pod_images(docs):
    """{(workload, container): image} of every pod template the umbrella renders, and of the
    Postgres pods CloudNativePG creates from a Cluster (spec.imageName)."""
    out = {}
    for _, d in docs:
        if d["kind"] == "Cluster" and d["apiVersion"].startswith("postgresql.cnpg.io/"):
            out[(f"Cluster/{d['metadata']['name']}", "postgres")] = d["spec"]["imageName"]
            continue
        spec, cs, ics = tc.containers(d)
        for c in cs + ics:
            out[(f"{d['kind']}/{d['metadata']['name']}", c["name"])] = c["image"]
    return out


def app_images(docs):
    """The app's image(s) as rendered: the containers of the scenario's `app` component chart."""
    chart = tc.SCENARIO["components"]["app"]["chart"]
    imgs = {c["image"] for _, d in docs if d["kind"] == "Deployment" and d["metadata"]["labels"].get("app.kubernetes.io/name") == chart
            for c in tc.containers(d)[1]}
    assert imgs, f"no Deployment of chart {chart} rendered"
    return imgs


@pytest.mark.parametrize("profile", ["local", "prod", "prod-aws"])
def test_verify_images_matches_the_app_image_the_umbrella_renders(profile):
    _, pols = policies("prod-keyless")
    refs = pols["wd-verify-app-image"]["spec"]["rules"][0]["verifyImages"][0]["imageReferences"]
    _, _, _, docs = tc.render_case(f"umbrella/{profile}")
    app = app_images(docs)
    for img in app:
        assert any(wildcard(r, kyverno_image(img)) for r in refs), (img, refs)
    # and the app image as k8s-deploy.sh --app-image passes it (wd-render --set images.app.*)
    pushed = tc.wd_render("images.app.repository=registry.example.org/team/verifiably-go", "images.app.tag=1.4.0", target="onprem")
    rendered = tc.load_docs(tc.render_chart(tc.UMBRELLA, tc.deep_merge(pushed, tc.values_file("values-prod.yaml"))))
    (img,) = app_images(rendered)
    assert img == "registry.example.org/team/verifiably-go:1.4.0"
    assert any(wildcard(r, kyverno_image(img)) for r in refs)
    assert any(wildcard(r, kyverno_image(img + "@sha256:" + "0" * 64).replace(":1.4.0@", "@")) for r in refs)
    # no third-party image needs our signature (walt.id, Keycloak, busybox init, ...)
    others = {i for i in pod_images(docs).values() if i not in app}
    assert others and not [i for i in others if any(wildcard(r, kyverno_image(i)) for r in refs)], others


def test_kyverno_image_normalisation_matches_its_source():
    assert kyverno_image("verifiably-go:local") == "docker.io/verifiably-go:local"
    assert kyverno_image("busybox") == "docker.io/busybox:latest"
    assert kyverno_image("registry:5000/app") == "registry:5000/app:latest"
    assert kyverno_image("ghcr.io/o/verifiably-go@sha256:ab") == "ghcr.io/o/verifiably-go@sha256:ab"
    assert wildcard("*/verifiably-go:*", "docker.io/verifiably-go:local")
    assert not wildcard("*/verifiably-go:*", "docker.io/xverifiably-go:local")


def test_latest_tag_rule_passes_every_rendered_image_and_catches_the_bad_ones():
    _, pols = policies("prod")
    (rule,) = pols["wd-disallow-latest-tag"]["spec"]["rules"]
    (cond,) = rule["validate"]["foreach"][0]["deny"]["conditions"]["any"]
    rx = re.compile(re.search(r"regex_match\('([^']+)'", cond["key"]).group(1))  # RE2 subset: same in Python
    denied = lambda image: rx.search(image) is not None  # noqa: E731
    for case in ["umbrella/local", "umbrella/prod", "umbrella/backups", "umbrella/redis-on-hpa-off"]:
        _, _, _, docs = tc.render_case(case)
        bad = {k: i for k, i in pod_images(docs).items() if denied(i)}
        assert not bad, (case, bad)
    for image in ["busybox", "redis:latest", "ghcr.io/o/app:latest", "registry:5000/app", "localhost:5000/a/b"]:
        assert denied(image), image
    for image in ["redis:7.4.1-alpine", "registry:5000/app:1.0", "ghcr.io/o/app@sha256:" + "a" * 64, "a/b:latest@sha256:" + "b" * 64]:
        assert not denied(image), image


@pytest.mark.parametrize("values,message", [
    ({"validationFailureAction": "enforce"}, "validationFailureAction is \"enforce\"; set Audit"),
    ({"failurePolicy": "Open"}, "failurePolicy is \"Open\""),
    ({"namespaces": []}, "namespaces is empty"),
    ({"verifyImages": {"enabled": True, "imageReferences": ["*/verifiably-go:*"]}}, "needs exactly one signer"),
    ({"verifyImages": {"enabled": True, "imageReferences": ["*/a:*"], "publicKey": PEM, "keyless": {"subject": "x"}}}, "needs exactly one signer"),
    ({"verifyImages": {"enabled": True, "keyless": {"subject": "https://github.com/o/r/x@*"}}}, "imageReferences is empty"),
    ({"verifyImages": {"enabled": True, "imageReferences": ["*/a:*"], "publicKeySecret": {"name": "k"}}}, "needs both name and namespace"),
])
def test_wrong_values_fail_with_a_clear_message(values, message):
    with pytest.raises(Exception) as e:
        render(values)
    assert message in str(e.value), str(e.value)


@pytest.mark.parametrize("vars_,message", [
    (dict(admission_policy_action="Block"), "admission_policy_action is Audit, Enforce or empty"),
    (dict(app_image_signature='{keyless_subject="s", public_key_secret="kyverno/k"}'), "set one of keyless_subject, public_key or public_key_secret"),
    (dict(app_image_signature='{public_key="ssh-ed25519 AAAA"}'), "is a PEM public key"),
    (dict(app_image_signature='{public_key_secret="just-a-name"}'), "NAMESPACE/NAME"),
    (dict(app_image_references='["*"]'), "a bare * would demand our signature"),
    (dict(policy_namespaces='["Waltid"]'), "policy_namespaces: each entry is a namespace name"),
    (dict(app_image_signature='{keyless_subject="s", registry_secrets=["a b"]}'), "registry_secrets are names of Secrets"),
])
def test_terraform_refuses_bad_policy_variables(vars_, message, capfd):
    with pytest.raises(SystemExit):
        platform(profile="prod", **vars_)
    err = re.sub(r"\s+", " ", capfd.readouterr().err)
    assert message in err, err


def test_checkov_parses_the_policy_chart_and_fails_nothing(tmp_path):
    """checkov --framework kubernetes as tests/charts runs it. checkov 3.3.30 has no check for
    kyverno.io kinds: it parses every document (no parsing error) and scans 0 resources. The
    count is asserted so that a checkov with Kyverno checks is noticed here (then fail on them)."""
    for case in CASES:
        _, pols = policies(case)
        (tmp_path / f"{case}.yaml").write_text("\n---\n".join(yaml.safe_dump(d) for d in pols.values()))
    summary, _ = tc.checkov(tmp_path)
    assert (summary["parsing_errors"], summary["failed"], summary["resource_count"]) == (0, 0, 0), summary


# ----------------------------------------------------------------- the namespace and wd-verify

def workloads(**vars_):
    out = tv.plans("local")
    args = []
    for k, v in dict(kubeconfig_path="~/.kube/x.yaml", values_file=str(out / "helm/values-waltid.yaml"),
                     secret_plan_path=str(out / "secrets/secret-plan.json"), **vars_).items():
        args += ["-var", f"{k}={v}"]
    return tfake.evaluate(TF / "workloads", args)


def namespace(**vars_):
    """The scenario's Namespace as terraform/workloads creates it (its labels, evaluated)."""
    outs = workloads(**vars_)
    labels = {"app.kubernetes.io/managed-by": "terraform", **outs["local__pod_security_labels"]}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": outs["var__namespace"], "labels": labels}}


def test_namespace_is_labelled_restricted_with_the_nodes_version():
    ns = namespace()
    kubernetes_validate.validate(ns, tc.KUBE_VERSION, strict=True)
    kind = re.search(r'default\s*=\s*"kindest/node:v(\d+\.\d+)\.', (TF / "bootstrap/local-kind/variables.tf").read_text()).group(1)
    want = {f"pod-security.kubernetes.io/{m}": "restricted" for m in ("enforce", "audit", "warn")}
    want |= {f"pod-security.kubernetes.io/{m}-version": f"v{kind}" for m in ("enforce", "audit", "warn")}
    assert {k: v for k, v in ns["metadata"]["labels"].items() if k.startswith("pod-security")} == want
    # the policies judge the namespace the workloads module creates
    assert evaluated("local")["local__policy_namespaces"] == [ns["metadata"]["name"]]
    # baseline enforcement keeps audit/warn at restricted
    low = namespace(pod_security_level="baseline")["metadata"]["labels"]
    assert (low["pod-security.kubernetes.io/enforce"], low["pod-security.kubernetes.io/warn"]) == ("baseline", "restricted")
    with pytest.raises(SystemExit):
        workloads(pod_security_level="privileged")


def test_wd_verify_judges_at_the_level_terraform_enforces():
    """k8s-deploy.sh verifies `helm template` output, which has no Namespace (terraform/workloads
    creates it): wd-verify then uses its --pss-level default, which must be the enforced level."""
    help_ = subprocess.run([str(tc.BIN / "wd-verify"), "--help"], capture_output=True, text=True, check=True).stdout
    default = re.search(r"--pss-level <LEVEL>.*?\[default: (\w+)\]", help_, re.S).group(1)
    assert default == namespace()["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def pss_findings(report):
    return [f for f in report["findings"] if f["check"].startswith("pod-security/")]


def verify_with_namespace(text, profile, ns):
    """wd-verify as k8s-deploy.sh runs it, with the Namespace terraform/workloads creates in front."""
    _, values = tv.manifests(profile)
    args = tv.orchestrator_flags(values) + tv.NODES[profile]
    out = tv.plans(tv.PROFILES[profile])
    args += ["--render-plan", str(out / "render-plan.json"), "--secret-plan", str(out / "secrets/secret-plan.json")]
    return tv.wd_verify("---\n" + yaml.safe_dump(ns) + text, *args)


@pytest.mark.parametrize("profile", ["local", "prod"])
def test_wd_verify_pod_security_passes_on_the_labelled_namespace(profile):
    text, values = tv.manifests(profile)
    report = verify_with_namespace(text, profile, namespace())
    assert report["summary"]["objects"] == len([d for d in yaml.safe_load_all(text) if d]) + 1
    assert not pss_findings(report), pss_findings(report)


def test_wd_verify_names_the_object_and_field_of_a_pod_without_run_as_non_root():
    text, _ = tv.manifests("local")
    docs = [d for d in yaml.safe_load_all(text) if d]
    chart = tc.SCENARIO["components"]["app"]["chart"]
    (app,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["labels"].get("app.kubernetes.io/name") == chart]
    spec = app["spec"]["template"]["spec"]
    spec.get("securityContext", {}).pop("runAsNonRoot", None)
    for c in spec["containers"] + spec.get("initContainers", []):
        c.get("securityContext", {}).pop("runAsNonRoot", None)
    mutated = "".join("---\n" + yaml.safe_dump(d) for d in docs)
    report = verify_with_namespace(mutated, "local", namespace())
    (f,) = [f for f in pss_findings(report) if f["check"] == "pod-security/restricted/run-as-non-root"]
    assert f["severity"] == "error" and not report["ok"]
    assert {(o["objectKind"], o["name"]) for o in f["objects"]} == {("Deployment", app["metadata"]["name"])}
    assert "runAsNonRoot" in f["message"] and "restricted" in f["message"]
    # enforce=baseline (audit/warn restricted): the API server admits it and warns, so a warning
    low = verify_with_namespace(mutated, "local", namespace(pod_security_level="baseline"))
    (w,) = [f for f in pss_findings(low) if f["check"] == "pod-security/restricted/run-as-non-root"]
    assert w["severity"] == "warning" and "warn" in w["message"]
