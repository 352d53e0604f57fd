"""Recorded state shared by the cluster-tool fakes (terraform, helm, kubectl, kind, docker and the
cluster-side wd tools) of the fresh-clone tests: one JSON file ($WD_STUB_STATE), locked while a
fake reads and writes it. A fake answers from this state and refuses what the real tool refuses;
none of them succeeds blindly."""

import contextlib
import fcntl
import json
import os
import pathlib
import sys

STATE = pathlib.Path(os.environ.get("WD_STUB_STATE", "/nonexistent/wd-stub-state.json"))


@contextlib.contextmanager
def state():
    """The state, locked; written back when the block ends without an exception."""
    STATE.parent.mkdir(parents=True, exist_ok=True)
    with open(STATE.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(STATE.read_text()) if STATE.exists() else {}
        data.setdefault("clusters", {})
        data.setdefault("images", [])
        data.setdefault("calls", [])
        yield data
        tmp = STATE.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(STATE)


def record(tool, argv):
    with state() as s:
        s["calls"].append([tool] + list(argv))


def fail(tool, msg, code=1):
    print(f"{msg}", file=sys.stderr)
    sys.exit(code)


def kubeconfig_path(explicit):
    """The kubeconfig a real client would use: --kubeconfig, else $KUBECONFIG, else ~/.kube/config."""
    p = explicit or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    return os.path.abspath(os.path.expanduser(p))


def cluster_for(s, kc):
    """The recorded cluster a kubeconfig reaches, or None (like an unreachable server)."""
    if not os.path.isfile(kc):
        return None
    c = s["clusters"].get(kc)
    if c is None:
        return None
    # The file must still be the one the bootstrap wrote (a reset cluster is gone).
    if pathlib.Path(kc).read_text().strip() != c["token"]:
        return None
    return c


def unreachable(tool, kc):
    if not os.path.isfile(kc):
        fail(tool, f"error: stat {kc}: no such file or directory (no kubeconfig: is this the cluster `up` created?)")
    fail(tool, "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")


# What the helm CLI and Terraform's helm provider share: merging values layers, `--set`/`set {}`
# paths, and the dependency check both make before installing a chart.
def deep_merge(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def set_path(values, dotted, raw):
    """`--set a.b=v` (the value typed as YAML, as helm does)."""
    import yaml
    cur = values
    *head, last = dotted.split(".")
    for h in head:
        cur = cur.setdefault(h, {})
    cur[last] = yaml.safe_load(raw)


def missing_deps(chart):
    """Dependencies of Chart.yaml with no packaged <name>-<version>.tgz in charts/."""
    import yaml
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    have = {p.name for p in (chart / "charts").glob("*.tgz")} if (chart / "charts").is_dir() else set()
    return [d["name"] for d in meta.get("dependencies") or [] if f"{d['name']}-{d['version']}.tgz" not in have]
