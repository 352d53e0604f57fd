"""The platform's Helm values (terraform/platform/values/*.yaml) against facts verified on the REAL
pinned upstream charts, recorded in tests/terraform/platform_facts.yaml.

CI (offline, no upstream charts): every values file is evaluated with Terraform's own templatefile()
(`terraform console`) for profile=local and profile=prod (and host_ports on/off where used), then
  - the companion-value rules of platform_facts.yaml hold (e.g. MetalLB's ServiceMonitor needs
    prometheus.serviceAccount/namespace, Loki SingleBinary needs read/write/backend at 0),
  - every key path we set is a path the chart knows (a typo is silently ignored by Helm),
  - the recorded memory/CPU figures were computed from exactly these values (digest), the local
    platform fits its budget and no container runs without a memory request.

Re-verification against the upstream charts (needs helm-python-sdk and the charts on disk, see the
header of platform_facts.yaml for how to extract them):
    WD_UPSTREAM_CHARTS=/tmp/charts .venv/bin/python tests/terraform/test_platform_values.py --write
renders every chart with the Helm v4 engine and rewrites the computed parts of platform_facts.yaml
(figures, known value paths, digests, negative renders); the rules are kept as written.
"""

import datetime
import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import pytest
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from test_terraform import TF, load_module, resources, terraform, unq  # noqa: E402  (shared helpers)

ROOT = pathlib.Path(__file__).resolve().parents[2]
VALUES = ROOT / "terraform/platform/values"
FACTS_FILE = pathlib.Path(__file__).resolve().parent / "platform_facts.yaml"

def _platform_locals():
    """The locals of terraform/platform that main.tf passes to values files as they are (Vault's
    image and its TLS objects' names, pki.tf), read from the module, not restated."""
    out = {}
    for block in load_module(TF / "platform")["locals"]:
        out.update({k: unq(v) for k, v in block.items()})
    return out


_PL = _platform_locals()
# Vault's values (main.tf helm_release.vault): the same in every profile; `tls` is a switch below.
_VAULT = dict(image_repository=_PL["vault_image"]["repository"], image_tag=_PL["vault_image"]["tag"], tls=False,
              tls_secret=_PL["vault_tls_secret"], ca_configmap=_PL["vault_ca_configmap"],
              reload_script=(TF / "platform/vault/tls-reload.sh").read_text())
# The variables terraform/platform/main.tf passes per profile (local = kind: metallb, host ports).
PROFILE_VARS = {
    "local": dict(profile="local", domain="localtest.me", replicas=1, peers=["vault-0"], host_ports=True, role_arn="", cluster_type="kind", **_VAULT),
    "prod": dict(profile="prod", domain="example.org", replicas=3, peers=["vault-0", "vault-1", "vault-2"], host_ports=False, role_arn="arn:aws:iam::123456789012:role/waltid-ebs-csi", cluster_type="eks", **_VAULT),
}
# Booleans a values file switches on (each rendered both ways under each profile): ingress-nginx's
# host ports (kind), Vault's listener on the internal CA (vault_tls = "on").
SWITCHES = ("host_ports", "tls")


def facts():
    return yaml.safe_load(FACTS_FILE.read_text())


# ---------------------------------------------------------------- Terraform templatefile(), batched


def hcl(v):
    """A value as an HCL literal: JSON, with template sequences in strings escaped ($${, %%{)."""
    return json.dumps(v).replace("${", "$${").replace("%{", "%%{")


def tf_texts(calls):
    """[(path, vars)] -> [rendered text], all through ONE `terraform console` (templatefile()).
    Piped, the console prints only its last result: one jsonencode() of the whole list."""
    exprs = []
    for path, vars_ in calls:
        args = ", ".join(f"{k} = {hcl(v)}" for k, v in vars_.items())
        exprs.append(f'templatefile("{path}", {{ {args} }})')
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([terraform(), "console"], input=f"jsonencode([{', '.join(exprs)}])\n", capture_output=True, text=True, cwd=d)
    assert p.returncode == 0, p.stderr
    out = json.loads(json.loads(p.stdout.strip()))
    assert len(out) == len(calls), p.stdout
    return out


def variants(release):
    """[(label, vars)] Terraform passes to this release's values file: each profile, and for a file
    with a `host_ports` switch both of its values under each profile."""
    keys = release["variables"]
    out = []
    for prof, allv in PROFILE_VARS.items():
        v = {k: allv[k] for k in keys}
        switch = next((s for s in SWITCHES if s in keys), None)
        if switch:
            for on in (True, False):
                out.append((f"{prof},{switch}={str(on).lower()}", dict(v, **{switch: on})))
        else:
            out.append((prof, v))
    return out


_CACHE = {}


def evaluated():
    """{release: {label: (vars, text, values)}} for every release in the facts, cached per session."""
    if not _CACHE:
        f = facts()
        calls, where = [], []
        for name, rel in f["releases"].items():
            for label, v in variants(rel):
                calls.append((VALUES / rel["values_file"], v))
                where.append((name, label, v))
        for (name, label, v), text in zip(where, tf_texts(calls)):
            _CACHE.setdefault(name, {})[label] = (v, text, yaml.safe_load(text) or {})
    return _CACHE


# ---------------------------------------------------------------------------- paths and the rules

_MISSING = object()


def get(values, path):
    node = values
    for k in path:
        if isinstance(node, dict) and k in node:
            node = node[k]
        elif isinstance(node, list) and isinstance(k, int) and -len(node) <= k < len(node):
            node = node[k]
        else:
            return _MISSING
    return node


def dotted(path):
    return ".".join(f"[{k}]" if isinstance(k, int) or "." in str(k) else str(k) for k in path)


def leaves(values, path=()):
    """Key paths we set: maps are walked, anything else (scalars, lists) is a leaf."""
    if isinstance(values, dict) and values:
        for k, v in values.items():
            yield from leaves(v, path + (k,))
    elif path:
        yield path


def rule_applies(rule, values, vars_):
    for p, want in (rule.get("when") or {}).items():
        if get(values, path_of(p)) != want:
            return False
    for k, want in (rule.get("when_var") or {}).items():
        if vars_.get(k) != want:
            return False
    return True


def path_of(p):
    """A rule path: a list (keys with dots, list indexes) or a dotted string."""
    return tuple(p) if isinstance(p, list) else tuple(p.split("."))


def check(name, release, label, vars_, text, values):
    """Problems of one evaluated values file; each message names the file and the fix."""
    vf = f"terraform/platform/values/{release['values_file']}"
    where = f"{vf} ({label})"
    problems = []
    for rule in release.get("rules", []):
        if not rule_applies(rule, values, vars_):
            continue
        fix = f"{rule['reason']} Fix: {rule['fix']}"
        for p in rule.get("require", []):
            v = get(values, path_of(p))
            if v is _MISSING or v in ("", None, [], {}):
                problems.append(f"{where}: {dotted(path_of(p))} must be set. {fix}")
        for item in rule.get("equal", []):
            p, want = item["path"], item["value"]
            v = get(values, path_of(p))
            if v != want:
                problems.append(f"{where}: {dotted(path_of(p))} is {'unset' if v is _MISSING else json.dumps(v)}, must be {json.dumps(want)}. {fix}")
        for item in rule.get("equal_paths", []):
            a, b = get(values, path_of(item["path"])), get(values, path_of(item["to"]))
            if a != b:
                problems.append(f"{where}: {dotted(path_of(item['path']))} must equal {dotted(path_of(item['to']))}. {fix}")
        for item in rule.get("contains", []):
            v = get(values, path_of(item["path"]))
            for s in item["substrings"]:
                if not isinstance(v, str) or s not in v:
                    problems.append(f"{where}: {dotted(path_of(item['path']))} must contain {s!r}. {fix}")
        for item in rule.get("count", []):
            v = get(values, path_of(item["path"]))
            n = v.count(item["substring"]) if isinstance(v, str) else 0
            want = get(values, path_of(item["equals_path"]))
            if n != want:
                problems.append(f"{where}: {dotted(path_of(item['path']))} has {n} x {item['substring']!r}, must be {dotted(path_of(item['equals_path']))} = {want}. {fix}")
        for p in rule.get("absent", []):
            if get(values, path_of(p)) is not _MISSING:
                problems.append(f"{where}: {dotted(path_of(p))} must not be set. {fix}")
        for lab, found in (rule.get("rendered_manifests_contain_it") or {}).items():
            if found:
                problems.append(f"{vf}: the chart rendered with these values ({lab}) still contains {rule['absent_text']}. {fix}")
        for s in rule.get("absent_text", []):  # in any value (comments may explain why)
            if s in json.dumps(values):
                problems.append(f"{where}: no value may contain {s!r}. {fix}")
    known = [tuple(k) for k in release["known_value_paths"]]
    for leaf in leaves(values):
        if not any(leaf[: len(k)] == k for k in known):
            problems.append(
                f"{where}: {dotted(leaf)} is not a value of chart {release['chart']} {release['version']} "
                f"(Helm ignores unknown keys silently). Fix: correct the key against the chart's values.yaml; "
                f"if it is a real key, re-verify and record it in {FACTS_FILE.name} known_value_paths."
            )
    return problems


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------- tests


def release_names():
    return list(facts()["releases"])


def local_chart_values():
    """Values files of releases whose chart is in this repository (no `repository`, e.g.
    charts/wd-policies): no upstream to verify against; tests/charts renders them."""
    out = set()
    for t, _, body in resources(load_module(TF / "platform")):
        if t == "helm_release" and not body.get("repository"):
            out |= set(re.findall(r"values}/([\w.-]+\.yaml)", str(body.get("values"))))
    return out


def test_every_values_file_has_verified_facts():
    recorded = {r["values_file"] for r in facts()["releases"].values()}
    present = {p.name for p in VALUES.glob("*.yaml")} - local_chart_values()
    assert present == recorded, (
        f"values files without facts: {sorted(present - recorded)}; facts without a file: {sorted(recorded - present)}. "
        f"Fix: render the new chart against its pinned upstream source and record it in {FACTS_FILE.name} (see its header)."
    )


@pytest.mark.parametrize("name", release_names())
def test_values_follow_the_chart_facts(name):
    release = facts()["releases"][name]
    problems = []
    for label, (vars_, text, values) in evaluated()[name].items():
        problems += check(name, release, label, vars_, text, values)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", release_names())
def test_recorded_figures_were_computed_from_these_values(name):
    release = facts()["releases"][name]
    stale = []
    for label, (vars_, text, values) in evaluated()[name].items():
        want = release["values_sha256"].get(label)
        if want != digest(text):
            stale.append(label)
    assert not stale, (
        f"terraform/platform/values/{release['values_file']} changed since its figures were rendered ({', '.join(stale)}). "
        f"Fix: re-render against the upstream chart: WD_UPSTREAM_CHARTS=<charts> .venv/bin/python {pathlib.Path(__file__).relative_to(ROOT)} --write"
    )


def test_the_verified_chart_versions_are_the_ones_terraform_installs():
    """The facts hold for one chart version: main.tf must pin exactly that one, with the same
    templatefile() variables."""
    f = facts()["releases"]
    seen, problems = set(), []
    for t, _, body in resources(load_module(TF / "platform")):
        if t != "helm_release" or not body.get("repository"):  # local charts: local_chart_values()
            continue
        name = unq(body["name"])
        seen.add(name)
        rel = f.get(name)
        if rel is None:
            problems.append(f"helm_release {name} has no verified facts. Fix: render it against its upstream chart and record it in {FACTS_FILE.name}.")
            continue
        version, chart = unq(body["version"]), unq(body["chart"])
        if (chart, str(version)) != (rel["chart"], str(rel["version"])):
            problems.append(
                f"terraform/platform/main.tf installs {chart} {version} as {name}, the facts were verified on {rel['chart']} {rel['version']}. "
                f"Fix: pin version = \"{rel['version']}\" in main.tf, or re-verify {rel['values_file']} against {version} and re-record."
            )
        values = str(unq(body.get("values")))  # python-hcl2 renders the vars object as {'k': ...}
        for var in rel["variables"]:
            if not re.search(rf"['\"]?\b{var}\b['\"]?\s*[:=]", values):
                problems.append(f"terraform/platform/main.tf: helm_release {name} must pass `{var}` to templatefile({rel['values_file']}) (the values file uses it).")
    assert not problems and seen == set(f), "\n".join(problems) + f"\nreleases: main.tf {sorted(seen)}, facts {sorted(f)}"


def test_local_platform_fits_its_memory_budget_and_everything_requests_memory():
    f = facts()
    budget = f["budget"]
    # options (`option`: the Terraform toggle, off on the local profile) are not in the local sum
    on_kind = [n for n, r in f["releases"].items() if r.get("runs_on_kind", True) and not r.get("option")]
    total = sum(f["releases"][n]["local"]["memory_request_mib"] for n in on_kind)
    assert total == f["totals"]["local"]["platform_memory_request_mib"]
    assert total <= budget["local_platform_memory_request_gib"] * 1024, (
        f"local platform requests {total} MiB > {budget['local_platform_memory_request_gib']} GiB. "
        "Fix: lower requests (profile local) in terraform/platform/values/*.yaml and re-render."
    )
    without = {n: r[p]["containers_without_requests"] for n, r in f["releases"].items() for p in ("local", "prod") if r[p]["containers_without_requests"]}
    assert not without, f"containers without a memory request: {without}. Fix: set their resources in the release's values file."
    ks = f["kind_kube_system"]
    assert ks["memory_request_mib"] == sum(c["memory_request_mib"] * c["replicas"] for c in ks["workloads"])


def test_the_original_metallb_values_are_caught():
    """The values file as it was before this check (it did not render: MetalLB 0.14.8 `required`s
    prometheus.serviceAccount/namespace once serviceMonitor is on)."""
    original = "prometheus:\n  serviceMonitor:\n    enabled: true\ncontroller:\n  resources:\n    requests: {cpu: 10m, memory: 48Mi}\n"
    release = facts()["releases"]["metallb"]
    with tempfile.TemporaryDirectory() as d:
        p = pathlib.Path(d) / "metallb.yaml"
        p.write_text(original)
        (text,) = tf_texts([(p, {"profile": "local"})])
    problems = check("metallb", release, "local", PROFILE_VARS["local"], text, yaml.safe_load(text))
    assert any("prometheus.serviceAccount must be set" in m and "metallb.yaml" in m and "Fix:" in m for m in problems), problems
    assert any("prometheus.namespace must be set" in m for m in problems), problems


# ------------------------------------------------ re-verification against the upstream charts


def _render_all(charts_dir):  # pragma: no cover - needs the upstream charts and helm-python-sdk
    import helm_python as helm

    f = facts()

    def render(name, values):
        rel = f["releases"][name]
        with helm.Chart.load(pathlib.Path(charts_dir) / name) as ch:  # fresh per render (waltid-facts §7)
            out = ch.render(values, name=name, namespace=rel["namespace"], is_install=True)
        docs = []
        for tpl, text in out.items():
            if tpl.endswith("NOTES.txt"):
                continue
            for part in re.split(r"(?:^|\s*\n)---\s*", text):  # as Helm's releaseutil.SplitManifests
                d = yaml.safe_load(part) if part.strip() else None
                if isinstance(d, dict) and d.get("kind"):
                    docs.append(d)
        return out, docs

    def mi(q):
        if q is None:
            return 0.0
        q = str(q)
        for u, m in {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20, "k": 1e3 / 2**20}.items():
            if q.endswith(u):
                return float(q[: -len(u)]) * m
        return float(q) / 2**20

    def milli(q):
        if q is None:
            return 0.0
        q = str(q)
        return float(q[:-1]) if q.endswith("m") else float(q) * 1000

    def budget(docs):
        mem = cpu = lim = 0.0
        noreq, jobs, rows = [], [], []
        req = lambda c, kind, res: ((c.get("resources") or {}).get(kind) or {}).get(res)  # noqa: E731
        for d in docs:
            kind, name = d["kind"], d["metadata"]["name"]
            if kind in ("Job", "CronJob", "Pod"):
                hook = "helm.sh/hook" in ((d["metadata"].get("annotations") or {}))
                jobs.append(f"{kind}/{name}" + (" (hook)" if hook else ""))
                continue
            if kind not in ("Deployment", "StatefulSet", "DaemonSet"):
                continue
            spec = d["spec"]["template"]["spec"]
            reps = 1 if kind == "DaemonSet" else int(d["spec"].get("replicas") or 1)  # DaemonSet: one node
            cs, ics = spec.get("containers", []), spec.get("initContainers") or []
            for c in cs + ics:
                if req(c, "requests", "memory") is None:
                    noreq.append(f"{kind}/{name}/{c['name']}")
            # as the scheduler counts a pod: max(largest init container, sum of containers)
            m = max(sum(mi(req(c, "requests", "memory")) for c in cs), max([mi(req(c, "requests", "memory")) for c in ics] or [0]))
            c_ = max(sum(milli(req(c, "requests", "cpu")) for c in cs), max([milli(req(c, "requests", "cpu")) for c in ics] or [0]))
            li = max(sum(mi(req(c, "limits", "memory")) for c in cs), max([mi(req(c, "limits", "memory")) for c in ics] or [0]))
            rows.append({"workload": f"{kind}/{name}", "replicas": reps, "memory_request_mib": m, "cpu_request_m": c_, "memory_limit_mib": li})
            mem, cpu, lim = mem + m * reps, cpu + c_ * reps, lim + li * reps
        # Pods prometheus-operator creates from Prometheus/Alertmanager: spec.resources + the
        # config-reloader sidecar sized by the operator's --config-reloader-* flags (0 = none).
        args = {}
        for d in docs:
            if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-operator"):
                for a in d["spec"]["template"]["spec"]["containers"][0].get("args", []):
                    if a.startswith("--config-reloader-"):
                        k, v = a[2:].split("=", 1)
                        args[k] = v
        for d in docs:
            if d["kind"] not in ("Prometheus", "Alertmanager"):
                continue
            s, name = d["spec"], f"{d['kind']}/{d['metadata']['name']}"
            reps, res = int(s.get("replicas") or 1), s.get("resources") or {}
            m = mi((res.get("requests") or {}).get("memory")) + mi(args.get("config-reloader-memory-request"))
            c_ = milli((res.get("requests") or {}).get("cpu")) + milli(args.get("config-reloader-cpu-request"))
            li = mi((res.get("limits") or {}).get("memory")) + mi(args.get("config-reloader-memory-limit"))
            if not (res.get("requests") or {}).get("memory"):
                noreq.append(f"{name}/{d['kind'].lower()}")
            if not mi(args.get("config-reloader-memory-request")):
                noreq.append(f"{name}/config-reloader")
            rows.append({"workload": f"{name} (operator-managed StatefulSet)", "replicas": reps, "memory_request_mib": m, "cpu_request_m": c_, "memory_limit_mib": li})
            mem, cpu, lim = mem + m * reps, cpu + c_ * reps, lim + li * reps
        return {
            "memory_request_mib": round(mem, 1),
            "cpu_request_m": round(cpu, 1),
            "memory_limit_mib": round(lim, 1),
            "containers_without_requests": noreq,
            "workloads": rows,
            "jobs_and_hooks_not_counted": jobs,
        }

    def defaults(chart):
        chart = pathlib.Path(chart)
        vals = yaml.safe_load((chart / "values.yaml").read_text()) if (chart / "values.yaml").exists() else {}
        vals = vals or {}
        if "_internal_defaults_do_not_set" in vals:
            # Istio's charts keep their defaults under this key and templates/zzz_profile.yaml merges
            # them with files/profile-<profile>.yaml and files/profile-platform-<platform>.yaml.
            vals = merge(vals.pop("_internal_defaults_do_not_set") or {}, vals)
            vals.setdefault("profile", "")
            vals.setdefault("global", {}).setdefault("platform", "")
        for dep in yaml.safe_load((chart / "Chart.yaml").read_text()).get("dependencies") or []:
            sub = chart / "charts" / dep["name"]
            if sub.is_dir():
                key = dep.get("alias", dep["name"])
                vals[key] = merge(defaults(sub), vals.get(key) or {})
        return vals

    def merge(a, b):
        if isinstance(a, dict) and isinstance(b, dict):
            out = dict(a)
            for k, v in b.items():
                out[k] = merge(a[k], v) if k in a else v
            return out
        return b if b is not None else a

    free_form = {"resources", "nodeSelector", "tolerations", "podSecurityContext", "securityContext", "annotations", "labels", "podAnnotations", "updateStrategy", "modules", "additionalDataSources",
                 # maps of user-named entries: the OTel collector's config sections and ports
                 "exporters", "receivers", "processors", "pipelines", "ports"}

    def known_path(chart, dflt, leaf, templates):
        node, out = dflt, []
        for i, k in enumerate(leaf):
            if isinstance(node, dict) and k in node:
                out.append(k)
                node = node[k]
                if k in free_form or not isinstance(node, dict) or not node:
                    return tuple(out)
            else:
                # a key the chart only documents in a comment: accepted if a template reads it
                ref = ".Values." + ".".join(map(str, leaf[: i + 1]))
                ref_sub = ".Values." + ".".join(map(str, leaf[1 : i + 1]))
                if ref in templates or (i >= 1 and ref_sub in templates):
                    return tuple(leaf[: i + 1])
                raise AssertionError(f"{chart}: {dotted(leaf)} is not a value of the chart")
        return tuple(out)

    today = datetime.date.today().isoformat()
    totals = {"local": {"platform_memory_request_mib": 0.0, "platform_cpu_request_m": 0.0, "platform_memory_limit_mib": 0.0}}
    for name, rel in f["releases"].items():
        chart = pathlib.Path(charts_dir) / name
        meta = yaml.safe_load((chart / "Chart.yaml").read_text())
        assert str(meta["version"]) == str(rel["version"]), (name, meta["version"], rel["version"])
        dflt = defaults(chart)
        templates = "".join(p.read_text(errors="replace") for p in chart.rglob("templates/*") if p.is_file())
        texts = tf_texts([(VALUES / rel["values_file"], v) for _, v in variants(rel)])
        rel["values_sha256"], known = {}, set()
        for (label, v), text in zip(variants(rel), texts):
            values = yaml.safe_load(text) or {}
            rel["values_sha256"][label] = digest(text)
            for leaf in leaves(values):
                known.add(known_path(name, dflt, leaf, templates))
            out, docs = render(name, values)
            manifests = "".join(out.values())
            for rule in rel.get("rules", []):
                for s_ in rule.get("absent_text", []):
                    rule.setdefault("rendered_manifests_contain_it", {})[label] = s_ in manifests
            prof = label.split(",")[0]
            if all(s not in rel["variables"] or v[s] == PROFILE_VARS[prof][s] for s in SWITCHES):
                rel[prof] = budget(docs)
                rel[prof]["rendered_from"] = label
        rel["known_value_paths"] = [list(k) for k in sorted(known, key=lambda k: tuple(map(str, k)))]
        for rule in rel.get("rules", []):
            neg = rule.get("negative_render")
            if not neg:
                continue
            values = yaml.safe_load(tf_texts([(VALUES / rel["values_file"], variants(rel)[0][1])])[0])
            for p in neg.get("unset", []):
                parent = get(values, path_of(p)[:-1])
                parent.pop(path_of(p)[-1], None)
            for p, val in (neg.get("set") or {}).items():
                parent = get(values, path_of(p)[:-1])
                parent[path_of(p)[-1]] = val
            try:
                render(name, values)
                neg["result"] = "renders"
            except Exception as e:  # noqa: BLE001 - record the engine's message
                neg["result"] = f"fails: {str(e).strip().splitlines()[0][:300]}"
        rel["verified"] = today
        if rel.get("runs_on_kind", True) and not rel.get("option"):
            t = totals["local"]
            t["platform_memory_request_mib"] += rel["local"]["memory_request_mib"]
            t["platform_cpu_request_m"] += rel["local"]["cpu_request_m"]
            t["platform_memory_limit_mib"] += rel["local"]["memory_limit_mib"]
    t = totals["local"]
    t["platform_memory_request_gib"] = round(t["platform_memory_request_mib"] / 1024, 3)
    ks = f["kind_kube_system"]
    t["with_kind_kube_system_memory_request_mib"] = t["platform_memory_request_mib"] + ks["memory_request_mib"]
    prod = {}
    for name, rel in f["releases"].items():
        prod[name] = rel["prod"]["memory_request_mib"]
    extra = {"metallb", "aws-ebs-csi-driver"} | {n for n, r in f["releases"].items() if r.get("option")}
    common = sum(v for n, v in prod.items() if n not in extra)
    totals["prod"] = {
        "common_memory_request_mib": common,
        "plus_metallb_on_prem_mib": prod.get("metallb", 0),
        "plus_aws_ebs_csi_driver_on_eks_mib": prod.get("aws-ebs-csi-driver", 0),
        "common_cpu_request_m": sum(r["prod"]["cpu_request_m"] for n, r in f["releases"].items() if n not in extra),
        "common_memory_limit_mib": sum(r["prod"]["memory_limit_mib"] for n, r in f["releases"].items() if n not in extra),
        "note": "DaemonSets counted once (per node); prod nodes each add metallb speaker / ebs-csi-node / node-exporter / promtail again.",
    }
    f["totals"] = totals
    f["verified"] = today
    header = FACTS_FILE.read_text().split("\n---\n", 1)[0] if "\n---\n" in FACTS_FILE.read_text() else ""
    FACTS_FILE.write_text(header + "\n---\n" + yaml.safe_dump(f, sort_keys=False, width=120, allow_unicode=True, default_flow_style=None))


if __name__ == "__main__":  # pragma: no cover
    if "--write" in sys.argv:
        _render_all(os.environ["WD_UPSTREAM_CHARTS"])
    else:
        sys.exit(pytest.main([__file__, "-q"]))
