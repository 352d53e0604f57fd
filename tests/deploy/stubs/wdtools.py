"""Fakes of the cluster-side wd tools (wd-secrets, wd-transit, wd-wait, wd-urls, whose own tests
run them against real OpenBao and a protocol-faithful API server). Each refuses a flag the real
binary does not have (read from the real binary's --help), reaches only a recorded cluster, and
judges from the recorded state: Vault through a live port-forward of that cluster, readiness from
the Deployments the workloads apply left and the images the cluster can pull."""

import json
import os
import pathlib
import re
import socket
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import stubstate  # noqa: E402

REAL = pathlib.Path(os.environ["WD_REAL_BIN"])


def die(tool, msg, code=1):
    print(f"{tool}: {msg}", file=sys.stderr)
    sys.exit(code)


def check_flags(tool, argv):
    sub = [argv[0]] if argv and not argv[0].startswith("-") and tool in ("wd-secrets", "wd-transit") else []
    helptext = subprocess.run([str(REAL / tool)] + sub + ["--help"], capture_output=True, text=True).stdout
    known = set(re.findall(r"(--[a-z][a-z0-9-]*)", helptext)) | set(re.findall(r"(?<![\w-])(-[a-zA-Z])\b", helptext))
    for a in argv:
        if a.startswith("-"):
            flag = a.split("=", 1)[0]
            if flag not in known:
                die(tool, f"error: unexpected argument '{flag}' found (not a flag of the real {tool} {' '.join(sub)})", 2)


def opt(argv, name):
    vals = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == name]
    return vals


def local_images():
    """The scenario's images built from source (config/scenarios/waltid.yaml verify.localImages,
    read from the checkout the script runs in)."""
    import yaml
    scenario = yaml.safe_load(pathlib.Path("config/scenarios/waltid.yaml").read_text())
    return set(scenario.get("verify", {}).get("localImages", []))


def port_alive(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", int(port))) == 0


def policies_apply(tool, argv, vault):
    """`wd-secrets policies --apply`: the real binary judges the input first (the same call without
    --apply reads the plan and checks every flag, exit 2 on bad input, no Vault); then what Vault
    keeps. --pki: one internal CA per Vault (generated once, kept across re-runs, as pki.rs does;
    a new cluster's Vault has a new one), its root written to --pki-ca-out (parents created)."""
    r = subprocess.run([str(REAL / tool)] + [a for a in argv if a != "--apply"], capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(r.stderr)
        return r.returncode
    if "--pki" in argv:
        if not vault.get("pki_root"):
            gen = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                  "-keyout", "/dev/null", "-subj", "/CN=wd internal root", "-days", "3650"],
                                 capture_output=True, text=True, check=True)
            vault["pki_root"] = gen.stdout.strip()
        vault["pki"] = {"domains": opt(argv, "--pki-domain"), "clusterIssuers": opt(argv, "--pki-cluster-issuer")}
        for out in opt(argv, "--pki-ca-out"):
            path = pathlib.Path(out)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(vault["pki_root"] + "\n")
            os.chmod(path, 0o644)
    return 0


def listener_problem(s, url, vault):
    """Why a tool cannot talk to the Vault pod behind this port-forward URL (None: it can): the
    scheme must be what the pod serves; over https its certificate (issued for the names of the
    Certificate) must verify against VAULT_CACERT with the name VAULT_TLS_SERVER_NAME (the URL's
    host is 127.0.0.1); a pod that restarted is sealed until `wd-secrets init` unseals it."""
    port = url.rsplit(":", 1)[-1]
    idx = s.get("forward_pods", {}).get(port, 0)
    tls = (vault.get("pods_tls") or [False] * (idx + 1))[idx]
    if url.startswith("https://") and not tls:
        return f"{url}: http: server gave HTTP response to HTTPS client"
    if url.startswith("http://") and tls:
        return f"{url}: Client sent an HTTP request to an HTTPS server"
    if tls:
        ca = os.environ.get("VAULT_CACERT", "")
        if not ca or not os.path.isfile(ca) or vault.get("pki_root", "x") not in pathlib.Path(ca).read_text():
            return f"{url}: x509: certificate signed by unknown authority (VAULT_CACERT={ca or 'unset'})"
        name = os.environ.get("VAULT_TLS_SERVER_NAME", "")
        names = (vault.get("issued") or {}).get("names", [])
        if name not in names:
            return f"{url}: x509: certificate is valid for {', '.join(names)}, not {name or '127.0.0.1'}"
    return None


def main(tool, argv):
    check_flags(tool, argv)
    if tool == "wd-urls" and "--component" in argv:
        # an offline question about the scenario (no cluster): the real binary answers
        os.execv(str(REAL / tool), [tool, *argv])
    stubstate.record(tool, argv)
    with stubstate.state() as s:
        if tool == "wd-secrets" and argv[0] == "init":
            nodes = opt(argv, "--node")
            kf = (opt(argv, "--keys-file") or [os.path.expanduser("~/.config/wd/vault-init.json")])[0]
            clusters = {s.get("forwards", {}).get(n.rsplit(":", 1)[1]) for n in nodes}
            if not nodes or None in clusters or len(clusters) != 1 or not all(port_alive(n.rsplit(":", 1)[1]) for n in nodes):
                die(tool, f"Vault at {nodes} did not answer (is the port-forward up?)", 3)
            c = s["clusters"][clusters.pop()]
            vault = c["objects"]["vault"]
            if len(nodes) != vault["replicas"]:
                die(tool, f"{len(nodes)} nodes given, the raft cluster has {vault['replicas']}", 2)
            for n in nodes:
                why = listener_problem(s, n, vault)
                if why:
                    die(tool, why, 3)
            leader = (opt(argv, "--leader-api-addr") or [""])[0]
            tls = any(vault.get("pods_tls", []))
            if tls != leader.startswith("https://") or (tls and leader.split("://")[1].rsplit(":", 1)[0] not in (vault.get("issued") or {}).get("names", [])):
                die(tool, f"--leader-api-addr {leader}: the followers would not reach the leader (listener {'https' if tls else 'http'}; names {(vault.get('issued') or {}).get('names', [])})", 3)
            if not vault.get("initialized"):
                if os.path.exists(kf):
                    die(tool, f"{kf} holds the keys of another Vault (this one is not initialised): refusing to overwrite them; move it away or pass --keys-file", 1)
                os.makedirs(os.path.dirname(kf), exist_ok=True)
                pathlib.Path(kf).write_text(json.dumps({"keys_base64": ["k"], "root_token": f"root-{c['token'][-2:]}", "threshold": 1}))
                os.chmod(kf, 0o600)
                vault["initialized"] = True
                vault["root_token"] = f"root-{c['token'][-2:]}"
            elif not os.path.exists(kf):
                die(tool, f"Vault is initialised and sealed, and {kf} does not exist: no keys to unseal it", 1)
            vault["sealed"] = [False] * vault["replicas"]
            return 0
        if tool in ("wd-secrets", "wd-transit"):
            addr = os.environ.get("VAULT_ADDR", "")
            # A Vault outside every cluster (option 6, WD_EXTERNAL_VAULT_ADDR): the suite names it
            # with its token in WD_STUB_EXTERNAL_VAULTS and keeps a listener on its port; it keeps
            # what was seeded into it whatever happens to the clusters.
            external = json.loads(os.environ.get("WD_STUB_EXTERNAL_VAULTS", "{}"))
            if addr in external:
                if not port_alive(addr.rsplit(":", 1)[-1]):
                    die(tool, f"Vault at {addr} did not answer", 3)
                if os.environ.get("VAULT_TOKEN") != external[addr]:
                    die(tool, "Vault refused the token (permission denied)", 3)
                ext = s.setdefault("external_vaults", {}).setdefault(addr, {"seeds": []})
                if tool == "wd-secrets" and argv[0] == "seed":
                    ext["seeds"].append(argv)
                return 0
            kc = s.get("forwards", {}).get(addr.rsplit(":", 1)[-1])
            if not kc or not port_alive(addr.rsplit(":", 1)[-1]):
                die(tool, f"Vault at {addr} did not answer", 3)
            vault = s["clusters"][kc]["objects"]["vault"]
            why = listener_problem(s, addr, vault)
            if why:
                die(tool, why, 3)
            if (vault.get("sealed") or [False])[s.get("forward_pods", {}).get(addr.rsplit(":", 1)[-1], 0)]:
                die(tool, f"{addr}: Vault is sealed", 3)
            if os.environ.get("VAULT_TOKEN") != vault.get("root_token"):
                die(tool, "Vault refused the token (permission denied)", 3)
            if tool == "wd-secrets" and argv[0] == "policies" and "--apply" in argv:
                return policies_apply(tool, argv, s["clusters"][kc]["objects"]["vault"])
            return 0
        kc = stubstate.kubeconfig_path((opt(argv, "--kubeconfig") or [None])[0])
        c = stubstate.cluster_for(s, kc)
        if c is None:
            die(tool, f"the cluster did not answer (kubeconfig {kc})", 3)
        if tool == "wd-wait":
            sys.stdin.read()
            deps = c["objects"].get("deployments") or {}
            if not deps:
                die(tool, "timed out: no Deployment of the scenario exists", 1)
            for name, d in deps.items():
                for image in d["images"]:
                    # Pullable from nowhere: an image the scenario builds from source (its one
                    # list, verify.localImages), or one `docker build` made and nothing pushed.
                    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
                    local = (repo in local_images() or image in s["images"]) and image not in s.get("pushed", [])
                    if c.get("type") == "kind" and local and image not in c["images"]:
                        die(tool, f"Deployment {name}: ErrImageNeverPull/ImagePullBackOff: {image} is not on the kind nodes (nothing built and loaded it)", 1)
                    if c.get("type") != "kind" and local:
                        die(tool, f"Deployment {name}: ImagePullBackOff: {image} is a local image the cluster cannot pull", 1)
            return 0
        return 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]).name, sys.argv[2:]))
