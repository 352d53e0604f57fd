"""A terraform fake for the fresh-clone tests that lets the REAL terraform evaluate what it can.

Providers cannot be downloaded here, so `apply` cannot create anything. What this fake does
instead, for `apply`, `destroy` and `plan`:
  1. builds a shadow of the module beside it (same directory depth, so every relative path in a
     var file resolves as it would for the real module): its variables.tf, its pure locals and one
     output per resource attribute that reads files (file, templatefile, jsondecode(file(...)));
  2. runs the real `terraform init` + `terraform apply` on the shadow with the same -var-file and
     -var arguments: undeclared variables, missing required ones, failed validations, missing
     files and templatefile errors fail exactly as they would;
  3. checks each local-chart helm_release: dependencies packaged (or dependency_update = true,
     then packaged from the working tree as the provider does), and renders the chart with the
     values Terraform passes, on the real Helm engine;
  4. records in the shared state what a real apply leaves behind (outputs, the cluster a bootstrap
     module creates, Vault's replica count, the umbrella's Deployments) for the other fakes.
Non-pure outputs (read from data sources) are answered from $WD_STUB_OUTPUTS (recorded values)."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import stubstate  # noqa: E402

TF = os.environ.get("WD_REAL_TERRAFORM", "/usr/local/bin/terraform")
BLOCK = re.compile(r"^(resource|data|module|locals|output|variable|provider|terraform)\b([^{]*)\{", re.M)


def die(msg, code=1):
    print(f"\n│ Error: {msg}\n", file=sys.stderr)
    sys.exit(code)


def block_end(text, start):
    """Index after the brace that closes the block opened at text[start] == '{' (strings,
    interpolations and heredocs skipped)."""
    depth, i, n = 0, start, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif text.startswith("<<", i):
            m = re.match(r"<<-?([A-Z]+)\n", text[i:])
            if m:
                end = re.search(r"^\s*" + m.group(1) + r"\s*$", text[i + m.end():], re.M)
                i += m.end() + (end.end() if end else 0)
                continue
        elif c == "#":
            i = text.find("\n", i)
            if i < 0:
                return n
        elif c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def blocks(text):
    out, pos = [], 0
    for m in BLOCK.finditer(text):
        if m.start() < pos:
            continue
        end = block_end(text, m.end() - 1)
        out.append((m.group(1), m.group(2).strip(), text[m.end():end - 1]))
        pos = end
    return out


def attributes(body):
    """Top-level `name = expr` of a block body (expr may span lines)."""
    out, i = [], 0
    for m in re.finditer(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*", body, re.M):
        if m.start() < i:
            continue
        j, depth = m.end(), 0
        while j < len(body):
            c = body[j]
            if c == '"':
                j += 1
                while j < len(body) and body[j] != '"':
                    j += 2 if body[j] == "\\" else 1
            elif c in "{[(":
                depth += 1
            elif c in "}])":
                depth -= 1
            elif c == "\n" and depth <= 0:
                break
            j += 1
        out.append((m.group(1), body[m.end():j].strip()))
        i = j
    return out


def refs(expr):
    """Dotted references outside string literals and comments (interpolations kept)."""
    code, i = [], 0
    while i < len(expr):
        if expr[i] == "#":  # a comment runs to the end of the line (a docs path is no reference)
            j = expr.find("\n", i)
            i = len(expr) if j < 0 else j
        elif expr[i] == '"':
            j = i + 1
            while j < len(expr) and expr[j] != '"':
                if expr.startswith("${", j):
                    k = block_end(expr, j + 1)
                    code.append(" " + expr[j + 2:k - 1] + " ")
                    j = k
                    continue
                j += 2 if expr[j] == "\\" else 1
            i = j + 1
        else:
            code.append(expr[i])
            i += 1
    return set(re.findall(r"(?<![\w.])([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)", "".join(code)))


def pure(expr, pure_locals):
    for a, b in refs(expr):
        if a == "var" or a == "path" or (a == "local" and b in pure_locals):
            continue
        return False
    return True


def shadow_module(moddir):
    """Writes the shadow module; returns (dir, {output name: description})."""
    texts = {p.name: p.read_text() for p in sorted(moddir.glob("*.tf"))}
    allb = [b for t in texts.values() for b in blocks(t)]
    locals_ = [a for kind, _, body in allb if kind == "locals" for a in attributes(body)]
    pure_locals, changed = {}, True
    while changed:
        changed = False
        for name, expr in locals_:
            if name not in pure_locals and pure(expr, pure_locals):
                pure_locals[name] = expr
                changed = True
    outputs = {}
    for kind, label, body in allb:
        if kind in ("resource", "data", "module"):
            labels = re.findall(r'"([^"]+)"', label)
            count = dict(attributes(body)).get("count")
            if count is not None and not pure(count, pure_locals):
                continue
            for name, expr in attributes(body):
                # what reads files, ConfigMaps' data and kubectl manifests (the platform's
                # ClusterIssuer and Certificates, which the kubectl fake answers from)
                reads = (re.search(r"\b(file|templatefile|filebase64)\(", expr) or (labels[0].startswith("kubernetes_config_map") and name == "data")
                         or (labels[0] == "kubectl_manifest" and name == "yaml_body"))
                if reads and pure(expr, pure_locals):
                    # A resource with count = 0 is never evaluated: neither here.
                    outputs[f"res__{'__'.join(labels)}__{name}"] = expr if count is None else f"[for _i in range({count}) : {expr}]"
            if labels and labels[0].startswith("kubernetes_config_map"):
                # its name, so the kubectl fake answers `get configmap NAME` from what was applied
                m = re.search(r"metadata\s*\{[^}]*?\bname\s*=\s*([^\n]+)", body)
                if m and pure(m.group(1), pure_locals):
                    expr = m.group(1).strip()
                    outputs[f"res__{'__'.join(labels)}__metadata_name"] = expr if count is None else f"[for _i in range({count}) : {expr}]"
            if labels and labels[0] == "helm_release":
                attrs = dict(attributes(body))
                chart = attrs.get("chart", "")
                if "repository" not in attrs and pure(chart, pure_locals):
                    outputs[f"chart__{labels[1]}"] = chart
                    outputs[f"chartdeps__{labels[1]}"] = attrs.get("dependency_update", "false")
                    sets = re.findall(r'set\s*\{\s*name\s*=\s*("[^"]*")\s*value\s*=\s*("[^"]*")\s*\}', body)
                    outputs[f"chartsets__{labels[1]}"] = "{" + ", ".join(f"{n} = {v}" for n, v in sets) + "}"
        if kind == "output":
            labels = re.findall(r'"([^"]+)"', label)
            value = dict(attributes(body)).get("value", "")
            if pure(value, pure_locals):
                outputs[f"out__{labels[0]}"] = value
    for name in pure_locals:
        outputs[f"local__{name}"] = f"local.{name}"
    # every variable as terraform resolved it (var files, -var, TF_VAR_*, defaults)
    for kind, label, _ in allb:
        if kind == "variable":
            name = re.findall(r'"([^"]+)"', label)[0]
            outputs[f"var__{name}"] = f"var.{name}"
    shadow = pathlib.Path(tempfile.mkdtemp(prefix=f".tfshadow-{moddir.name}-", dir=moddir.parent))
    for p in moddir.iterdir():
        if p.suffix != ".tf" and not p.name.startswith((".terraform", "terraform.tfstate")):
            (shadow / p.name).symlink_to(p)
    (shadow / "variables.tf").write_text(texts.get("variables.tf", ""))
    body = ["locals {"] + [f"  {n} = {e}" for n, e in pure_locals.items()] + ["}"]
    body += [f'output "{n}" {{\n  value = {e}\n}}' for n, e in outputs.items()]
    (shadow / "shadow.tf").write_text("\n".join(body) + "\n")
    return shadow


def real_tf(shadow, args):
    env = dict(os.environ, TF_IN_AUTOMATION="1", TF_CLI_CONFIG_FILE="/dev/null")
    return subprocess.run([TF, f"-chdir={shadow}"] + args, capture_output=True, text=True, env=env)


def evaluate(moddir, varargs):
    shadow = shadow_module(moddir)
    try:
        r = real_tf(shadow, ["init", "-input=false", "-no-color"])
        if r.returncode:
            sys.stderr.write(r.stderr)
            sys.exit(1)
        r = real_tf(shadow, ["apply", "-input=false", "-auto-approve", "-no-color"] + varargs)
        if r.returncode:
            sys.stderr.write(r.stderr.replace(str(shadow), str(moddir)))
            sys.exit(1)
        r = real_tf(shadow, ["output", "-json", "-no-color"])
        return {k: v["value"] for k, v in json.loads(r.stdout).items()}
    finally:
        shutil.rmtree(shadow, ignore_errors=True)


def served_apis(moddir, outs):
    """The API groups the cluster serves to the helm provider's render (its Capabilities): the
    CRDs of what the platform apply installed (kube-prometheus-stack and ESO always, KEDA when
    its option is on), as recorded by on_apply; none before the platform or for another module."""
    if moddir.name != "workloads":
        return []
    kc = os.path.abspath(os.path.expanduser(outs.get("var__kubeconfig_path") or "~/.kube/config"))
    with stubstate.state() as s:
        c = stubstate.cluster_for(s, kc)
        return list((c or {}).get("apis", []))


def check_charts(moddir, outs, api_versions=()):
    """What the helm provider does with a local chart: dependencies, then render with the values
    and the API versions the cluster serves (helm-python's Chart.render takes none: the engine's
    native render does, as the helm fake calls it)."""
    import json
    import helm_python as helm
    import yaml

    rendered = {}
    for key, chart in outs.items():
        if not key.startswith("chart__"):
            continue
        name = key[len("chart__"):]
        path = (moddir / chart).resolve() if not os.path.isabs(chart) else pathlib.Path(chart)
        if not (path / "Chart.yaml").is_file():
            die(f'helm_release.{name}: chart "{chart}" not found (resolved to {path})')
        if str(outs.get(f"chartdeps__{name}")).lower() == "true":
            helm.dependency_update(str(path))
        missing = stubstate.missing_deps(path)
        if missing:
            die(f"helm_release.{name}: found in Chart.yaml, but missing in charts/ directory: {', '.join(missing)}")
        values = {}
        for text in outs.get(f"res__helm_release__{name}__values") or []:
            if isinstance(text, list):  # a counted release: [values] per instance
                text = "\n".join(text)
            values = stubstate.deep_merge(values, yaml.safe_load(text) or {})
        for k, v in (outs.get(f"chartsets__{name}") or {}).items():
            stubstate.set_path(values, k, v)
        ns = os.environ.get("WD_NAMESPACE", "waltid")
        from helm_python import _native
        with helm.Chart.load(str(path)) as ch:
            try:
                native = {"name": os.environ.get("WD_RELEASE", "waltid"), "namespace": ns, "api_versions": list(api_versions)}
                rendered[name] = json.loads(_native.call_string("helm_render", ch._raw(), json.dumps(values), json.dumps(native)))
            except Exception as e:  # the engine's own message
                die(f"helm_release.{name}: {e}")
    return rendered


def main(argv):
    if not argv or not argv[0].startswith("-chdir="):
        die("this fake expects -chdir=DIR first (as k8s-deploy.sh calls it)")
    moddir = pathlib.Path(argv[0][len("-chdir="):]).resolve()
    if not moddir.is_dir():
        die(f"Invalid -chdir option: chdir {moddir}: no such file or directory")
    cmd, args = argv[1], argv[2:]
    stubstate.record("terraform", argv)
    with stubstate.state() as s:
        mod = s.setdefault("tf", {}).setdefault(str(moddir), {})
        if cmd == "init":
            bad = [a for a in args if a not in ("-input=false",)]
            if bad:
                die(f"flag provided but not defined: {bad[0]}")
            if not list(moddir.glob("*.tf")):
                die(f"no Terraform configuration files in {moddir}")
            mod["initialized"] = True
            return 0
        if not mod.get("initialized"):
            die("Module not installed / required providers are not installed: run \"terraform init\"")
        ws = mod.get("workspace", "default")
        if cmd == "workspace":
            if len(args) != 3 or args[0] != "select" or args[1] != "-or-create=true":
                die(f"unsupported workspace call: {args}")
            mod["workspace"] = args[2]
            return 0
        if cmd == "output":
            if len(args) != 2 or args[0] != "-raw":
                die(f"unsupported output call: {args}")
            applied = mod.get("states", {}).get(ws)
            if not applied:
                die("No outputs found: the state file either has no outputs defined, or all the defined outputs are empty")
            if args[1] not in applied["outputs"]:
                die(f'Output "{args[1]}" not found')
            v = applied["outputs"][args[1]]
            sys.stdout.write(v if isinstance(v, str) else json.dumps(v))
            return 0
    if cmd not in ("apply", "destroy", "plan"):
        die(f"unsupported command {cmd}")
    varargs, destroy = [], cmd == "destroy"
    for a in args:
        if a in ("-input=false", "-auto-approve"):
            continue
        if a == "-destroy" and cmd == "plan":
            destroy = True
            continue
        if a.startswith("-var-file=") or a.startswith("-var="):
            varargs.append(a)
            continue
        if varargs and varargs[-1] == "-var":
            varargs.append(a)
            continue
        if a == "-var":
            varargs.append(a)
            continue
        die(f"flag provided but not defined: {a}")
    # The real terraform evaluates the configuration (files included) for destroy too.
    outs = evaluate(moddir, varargs)
    # The helm provider renders a chart only to plan a create or an update: a destroy plan never
    # calls it (terraform-plugin-sdk v2 PlanResourceChange returns early for a null new state),
    # so charts are checked only then.
    rendered = {} if destroy else check_charts(moddir, outs, served_apis(moddir, outs))
    if cmd == "plan":
        print(f"Plan: {'destroy' if destroy else 'apply'} {moddir.name} (fake: configuration evaluated, nothing changed)")
        return 0
    recorded = json.loads(os.environ.get("WD_STUB_OUTPUTS", "{}")).get(moddir.name, {})
    with stubstate.state() as s:
        mod = s["tf"][str(moddir)]
        ws = mod.get("workspace", "default")
        if destroy:
            mod.setdefault("states", {}).pop(ws, None)
            on_destroy(s, moddir, outs)
            return 0
        outputs = dict(recorded)
        outputs.update({k[len("out__"):]: v for k, v in outs.items() if k.startswith("out__")})
        mod.setdefault("states", {})[ws] = {"outputs": outputs}
        on_apply(s, moddir, outs, outputs, rendered)
    return 0


def kubectl_objects(outs):
    """{kind/namespace/name: object} of the module's kubectl_manifest resources, as evaluated."""
    import yaml
    out = {}
    for key, body in outs.items():
        if key.startswith("res__kubectl_manifest__") and key.endswith("__yaml_body"):
            for text in body if isinstance(body, list) else [body]:
                d = yaml.safe_load(text)
                out[f'{d["kind"]}/{d["metadata"].get("namespace", "")}/{d["metadata"]["name"]}'] = d
    return out


def on_apply(s, moddir, outs, outputs, rendered):
    """What the real module leaves behind that the other fakes read."""
    if moddir.parent.name == "bootstrap":
        kc = os.path.abspath(outputs["kubeconfig_path"])
        known = stubstate.cluster_for(s, kc)
        if known is not None and known["name"] == outputs["cluster_name"]:
            # applying again: the cluster exists (kind/k3sup/eks converge), nothing is recreated
            known["nodes"] = int(outputs.get("node_count", 1))
            return
        token = f"cluster {outputs['cluster_name']} ({moddir.name}) #{len(s['clusters']) + 1}"
        os.makedirs(os.path.dirname(kc), exist_ok=True)
        pathlib.Path(kc).write_text(token + "\n")
        s["clusters"][kc] = {"token": token, "name": outputs["cluster_name"], "type": outputs.get("cluster_type"),
                             "nodes": int(outputs.get("node_count", 1)), "images": [], "objects": {}, "releases": {}}
        return
    # the kubeconfig the module was applied with (the providers' config_path)
    kc = os.path.abspath(os.path.expanduser(outs.get("var__kubeconfig_path") or "~/.kube/config"))
    if moddir.name == "platform":
        import yaml
        vault = outs.get("res__helm_release__vault__values")
        replicas = yaml.safe_load(vault[0])["server"]["ha"]["replicas"] if vault else 0
        c = stubstate.cluster_for(s, kc)
        if c is None:
            die(f"Kubernetes cluster unreachable: invalid configuration: kubeconfig {kc}")
        # Vault's PVCs bind only with a StorageClass: kind and k3s ship local-path; self-managed
        # EKS nodes have none until the platform installs the EBS CSI driver.
        ebs = outs.get("res__helm_release__aws_ebs_csi_driver__values") or []
        storage = c.get("type") in ("kind", "k3s") or bool(ebs)
        old = c["objects"].get("vault") or {}
        # Vault's listener (values/vault.yaml: global.tlsDisable false with vault_tls = on). vault-helm
        # updates pods only when they are deleted (updateStrategy OnDelete): a running pod keeps the
        # listener it started with; a pod created now (none before) starts with this spec, sealed.
        spec_tls = (yaml.safe_load(vault[0]) or {}).get("global", {}).get("tlsDisable", True) is False if vault else False
        pods_tls, sealed = list(old.get("pods_tls", [])), list(old.get("sealed", []))
        pods_tls += [spec_tls] * (replicas - len(pods_tls))
        sealed += [True] * (replicas - len(sealed))
        c["objects"]["vault"] = dict(old, replicas=replicas, storage=storage, spec_tls=spec_tls,
                                     pods_tls=pods_tls[:replicas], sealed=sealed[:replicas],
                                     # the chart's required hostname anti-affinity: one voter per node
                                     pods=["Running" if i < c["nodes"] and storage else "Pending" for i in range(replicas)])
        # the objects of its kubectl manifests (ClusterIssuers, Certificates) and ConfigMaps, as applied
        c["objects"]["platform_manifests"] = kubectl_objects(outs)
        maps = {}
        for key, data in outs.items():
            if key.startswith("res__kubernetes_config_map_v1__") and key.endswith("__data"):
                data = data[0] if isinstance(data, list) and data else data
                name = outs.get(key[: -len("__data")] + "__metadata_name")
                name = name[0] if isinstance(name, list) and name else name
                if data and name:
                    maps[name] = data
        c["objects"]["platformConfigMaps"] = maps
        # the CRDs its releases bring: kube-prometheus-stack and ESO always, KEDA with its option
        apis = ["monitoring.coreos.com/v1", "external-secrets.io/v1beta1", "generators.external-secrets.io/v1alpha1"]
        if (outputs.get("options") or {}).get("keda"):
            apis.append("keda.sh/v1alpha1")
        c["apis"] = apis
        return
    if moddir.name == "workloads":
        c = stubstate.cluster_for(s, kc)
        if c is None:
            die(f"Kubernetes cluster unreachable: invalid configuration: kubeconfig {kc}")
        import yaml
        deployments, installed = {}, {}
        for path, text in rendered.get("umbrella", {}).items():
            if path.endswith("NOTES.txt"):
                continue
            for d in yaml.safe_load_all(text):
                if d and d.get("kind") in ("Deployment", "StatefulSet"):
                    images = [ct["image"] for ct in d["spec"]["template"]["spec"]["containers"]]
                    images += [ct["image"] for ct in d["spec"]["template"]["spec"].get("initContainers", [])]
                    config_maps = sorted({v["configMap"]["name"] for v in d["spec"]["template"]["spec"].get("volumes", []) if "configMap" in v})
                    deployments[d["metadata"]["name"]] = {"kind": d["kind"], "images": images, "configMaps": config_maps}
                if d:
                    # every object as installed, for the suite's "what wd-verify judged is what was installed"
                    installed[f'{d["kind"]}/{d["metadata"]["name"]}'] = d
        c["objects"]["deployments"] = deployments
        c["objects"]["umbrella"] = installed
        # ConfigMaps the module writes from files (internal_ca.tf: the CA's root), by resource
        # address: the data as Terraform read it (a counted resource: its one instance, if any).
        maps = {}
        for key, data in outs.items():
            if key.startswith("res__kubernetes_config_map_v1__") and key.endswith("__data"):
                data = data[0] if isinstance(data, list) and data else data
                if data:
                    maps["kubernetes_config_map_v1." + key.split("__")[2]] = data
        c["objects"]["configMaps"] = maps
        c["releases"][os.environ.get("WD_RELEASE", "waltid")] = {"status": "deployed", "revision": 1}


def on_destroy(s, moddir, outs):
    if moddir.parent.name == "bootstrap":
        for kc, c in list(s["clusters"].items()):
            if c["name"] == outs.get("out__cluster_name") and (c.get("type") in (None, outs.get("out__cluster_type"))):
                del s["clusters"][kc]
                pathlib.Path(kc).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
