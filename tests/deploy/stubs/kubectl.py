"""A kubectl fake answering from the recorded cluster state: it reaches only a cluster that a
bootstrap module created (the kubeconfig `up` wrote; ~/.kube/config reaches nothing), knows the
objects the platform and workloads applies left there, and refuses anything else."""

import pathlib
import re
import socket
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import stubstate  # noqa: E402


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def issuer_problem(issuer, vault):
    """Why cert-manager's Vault ClusterIssuer cannot sign (None: it can): it must exist, Vault's
    PKI must be set up (wd-secrets --pki), and it must speak what Vault's pods serve: plain HTTP to
    a plain listener; https, with the CA's root as caBundle, to a TLS one."""
    import base64
    if issuer is None:
        return "its ClusterIssuer does not exist"
    if not vault.get("pki"):
        return "ClusterIssuer not Ready: Vault has no PKI role yet (wd-secrets policies --apply --pki)"
    server = issuer["spec"]["vault"]["server"]
    tls = vault.get("pods_tls") or [False]
    if any(tls) != all(tls):
        return "Vault's pods serve different listeners"
    if server.startswith("https://") and not tls[0]:
        return f"http: server gave HTTP response to HTTPS client ({server})"
    if server.startswith("http://") and tls[0]:
        return f"Client sent an HTTP request to an HTTPS server ({server})"
    if server.startswith("https://"):
        ca = base64.b64decode(issuer["spec"]["vault"].get("caBundle", "")).decode()
        if vault.get("pki_root", "x") not in ca:
            return "x509: certificate signed by unknown authority (caBundle is not the internal CA's root)"
    return None


def main(argv):
    local_port = 0
    forward_pod = 0
    stubstate.record("kubectl", argv)
    kc, ns, rest, i = None, "default", [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--kubeconfig":
            kc = argv[i + 1]
            i += 2
            continue
        if a.startswith("--kubeconfig="):
            kc = a.split("=", 1)[1]
        elif a in ("-n", "--namespace"):
            ns = argv[i + 1]
            i += 2
            continue
        else:
            rest.append(a)
        i += 1
    kc = stubstate.kubeconfig_path(kc)
    with stubstate.state() as s:
        c = stubstate.cluster_for(s, kc)
        if c is None:
            stubstate.unreachable("kubectl", kc)
        vault = c["objects"].get("vault")
        deps = c["objects"].get("deployments", {})
        cmd = rest[0] if rest else ""
        if cmd == "get" and rest[1:3] == ["statefulset", "vault"] and ns == "vault":
            if vault is None:
                die('Error from server (NotFound): statefulsets.apps "vault" not found')
            print(vault["replicas"], end="")
            return 0
        if cmd == "wait" and ns == "vault" and not any(a.startswith("certificate/") for a in rest):
            pod = next((a for a in rest if a.startswith("pod/")), "")
            m = re.fullmatch(r"pod/vault-(\d+)", pod)
            if not m or vault is None or int(m.group(1)) >= len(vault["pods"]):
                die(f'Error from server (NotFound): pods "{pod[4:]}" not found')
            if vault["pods"][int(m.group(1))] != "Running":
                die(f"error: timed out waiting for the condition on pods/{pod[4:]}")
            return 0
        if cmd == "get" and rest[1:2] == ["pod"] and ns == "vault" and "-o" in rest and rest[rest.index("-o") + 1] == "name":
            m = re.fullmatch(r"vault-(\d+)", rest[2])
            if not m or vault is None or int(m.group(1)) >= len(vault["pods"]):
                die(f'Error from server (NotFound): pods "{rest[2]}" not found')
            print(f"pod/{rest[2]}")
            return 0
        if cmd == "get" and rest[1:2] == ["pods"] and ns == "vault" and "-o" in rest:
            want = 'jsonpath={.items[*].spec.containers[?(@.name=="vault")].env[?(@.name=="VAULT_ADDR")].value}'
            if rest[rest.index("-o") + 1] != want or "-l" not in rest or rest[rest.index("-l") + 1] != "app.kubernetes.io/name=vault,component=server":
                die(f"error: this fake answers Vault's pods' VAULT_ADDR only, not {' '.join(rest)}")
            # the chart's env VAULT_ADDR: <scheme>://127.0.0.1:8200, as each pod was created
            print(" ".join(("https" if t else "http") + "://127.0.0.1:8200" for t in (vault or {}).get("pods_tls", [])), end="")
            return 0
        if cmd == "delete" and rest[1:2] == ["pod"] and ns == "vault":
            # the StatefulSet recreates them with its current template (OnDelete): the listener of
            # the last platform apply, sealed; with TLS the certificate's Secret must exist
            if "-l" not in rest or rest[rest.index("-l") + 1] != "app.kubernetes.io/name=vault,component=server":
                die(f"error: this fake deletes Vault's server pods by their labels only, not {' '.join(rest)}")
            if vault is None:
                die("No resources found")
            n = len(vault["pods"])
            vault["pods_tls"] = [vault.get("spec_tls", False)] * n
            vault["sealed"] = [True] * n
            if vault.get("spec_tls") and not vault.get("issued"):
                vault["pods"] = ["ContainerCreating"] * n  # MountVolume.SetUp failed: secret not found
            return 0
        if cmd == "wait" and ns == "vault" and any(a.startswith("certificate/") for a in rest):
            name = next(a for a in rest if a.startswith("certificate/"))[len("certificate/"):]
            objs = c["objects"].get("platform_manifests", {})
            cert = objs.get(f"Certificate/vault/{name}")
            if cert is None:
                die(f'Error from server (NotFound): certificates.cert-manager.io "{name}" not found')
            issuer = objs.get(f'ClusterIssuer//{cert["spec"]["issuerRef"]["name"]}')
            why = issuer_problem(issuer, vault)
            if why:
                die(f"error: timed out waiting for the condition on certificates/{name} ({why})")
            vault["issued"] = {"names": cert["spec"]["dnsNames"], "issuer": issuer["metadata"]["name"]}
            return 0
        if cmd == "get" and rest[1:2] == ["configmap"]:
            data = c["objects"].get("platformConfigMaps", {}).get(rest[2]) if ns == "vault" else None
            if data is None:
                die(f'Error from server (NotFound): configmaps "{rest[2]}" not found')
            want = rest[rest.index("-o") + 1] if "-o" in rest else ""
            if want != "jsonpath={.data.ca\\.crt}":
                die(f"error: this fake answers -o jsonpath={{.data.ca\\.crt}} only, not {want}")
            print(data.get("ca.crt", ""), end="")
            return 0
        if cmd == "get" and rest[1:2] == ["pod"] and ns == "vault":
            idx = int(rest[2].rsplit("-", 1)[1])
            why = "pod has unbound immediate PersistentVolumeClaims" if not vault.get("storage") else "didn't match pod anti-affinity rules"
            print(f"{vault['pods'][idx]}: 0/{c['nodes']} nodes are available: {why}", end="")
            return 0
        if cmd == "port-forward" and ns == "vault":
            m = re.fullmatch(r"pod/vault-(\d+)", rest[1])
            if not m or vault is None or int(m.group(1)) >= len(vault["pods"]) or vault["pods"][int(m.group(1))] != "Running":
                die(f"error: unable to forward port because pod is not running. Current status={'Pending' if vault else 'NotFound'}")
            if rest[2] != ":8200" and not re.fullmatch(r"\d+:8200", rest[2]):
                die(f"error: invalid port {rest[2]}")
            local_port = int(rest[2].split(":")[0] or 0)
            forward_pod = int(m.group(1))
        elif cmd in ("logs", "rollout", "set"):
            target = next((a for a in rest if a.startswith("deployment/")), None)
            if target is None or target[len("deployment/"):] not in deps:
                die(f'Error from server (NotFound): deployments.apps "{(target or "")[11:]}" not found')
            if cmd == "set":
                name = target[len("deployment/"):]
                container, image = rest[-1].split("=", 1)
                deps[name]["images"][0] = image
            if cmd == "logs":
                print(f"(logs of {target})")
            return 0
        elif cmd == "get":
            print(f"NAME  STATUS (recorded cluster {c['name']}: {len(deps)} deployments)")
            return 0
        else:
            die(f'error: unknown command "{" ".join(rest)}" for this fake kubectl')
    # port-forward: bind a port the kernel picks, say so like kubectl, stay up until killed
    # (bounded: 120 s).
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", local_port))
    except OSError:
        die(f"Unable to listen on port {local_port}: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:{local_port}: bind: address already in use]")
    sock.listen(8)
    with stubstate.state() as s:
        s.setdefault("forwards", {})[str(sock.getsockname()[1])] = kc
        s.setdefault("forward_pods", {})[str(sock.getsockname()[1])] = forward_pod
    print(f"Forwarding from 127.0.0.1:{sock.getsockname()[1]} -> 8200", flush=True)
    time.sleep(120)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
