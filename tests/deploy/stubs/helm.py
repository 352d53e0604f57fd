"""A helm fake on the REAL Helm v4 engine (helm-python-sdk) for what runs offline:
`dependency build` and `template` (which refuses a chart whose dependencies are missing from
charts/, as helm does), and release commands answered from the recorded cluster state."""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import stubstate  # noqa: E402


def die(msg):
    print(f"Error: {msg}", file=sys.stderr)
    sys.exit(1)


def parse(argv):
    opts, pos, files, i = {}, [], [], 0
    while i < len(argv):
        a = argv[i]
        if a in ("--kubeconfig", "-n", "--namespace", "-o", "--output"):
            if i + 1 >= len(argv):
                die(f"flag needs an argument: {a}")
            opts[a.lstrip("-")[:1] if a in ("-n", "--namespace", "-o", "--output") else "kubeconfig"] = argv[i + 1]
            i += 2
            continue
        if a in ("-f", "--values"):
            files.append(argv[i + 1])
            i += 2
            continue
        if a == "--set":
            opts.setdefault("set", []).append(argv[i + 1])
            i += 2
            continue
        if a == "--api-versions":
            opts.setdefault("api_versions", []).append(argv[i + 1])
            i += 2
            continue
        if a in ("--wait",):
            opts["wait"] = True
        elif a.startswith("-"):
            die(f"unknown flag: {a}")
        else:
            pos.append(a)
        i += 1
    return opts, pos, files


def main(argv):
    import helm_python as helm
    import yaml

    stubstate.record("helm", argv)
    opts, pos, files = parse(argv)
    if not pos:
        die("no command")
    cmd = pos[0]
    if cmd == "dependency" and pos[1:2] == ["build"]:
        chart = pathlib.Path(pos[2])
        if not (chart / "Chart.yaml").is_file():
            die(f"{chart}: no Chart.yaml")
        helm.dependency_build(str(chart))
        return 0
    if cmd == "template":
        name, chart = pos[1], pathlib.Path(pos[2])
        if not (chart / "Chart.yaml").is_file():
            die(f"path \"{chart}\" not found")
        miss = stubstate.missing_deps(chart)
        if miss:
            die(f"An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {', '.join(miss)}")
        values = {}
        for f in files:
            if not os.path.isfile(f):
                die(f"open {f}: no such file or directory")
            values = stubstate.deep_merge(values, yaml.safe_load(pathlib.Path(f).read_text()) or {})
        for kv in opts.get("set", []):
            stubstate.set_path(values, *kv.split("=", 1))
        # The engine's native render takes the Capabilities (`--api-versions`) like helm does;
        # helm-python's Chart.render has no argument for them.
        import json
        from helm_python import _native
        with helm.Chart.load(str(chart)) as ch:
            try:
                native = {"name": name, "namespace": opts.get("n", "default"), "api_versions": opts.get("api_versions", [])}
                out = json.loads(_native.call_string("helm_render", ch._raw(), json.dumps(values), json.dumps(native)))
            except Exception as e:
                die(str(e))
        for path, text in sorted(out.items()):
            if path.endswith("NOTES.txt") or not text.strip():
                continue
            print(f"---\n# Source: {path}\n{text.strip()}")
        return 0
    if cmd in ("status", "history", "rollback", "uninstall"):
        kc = stubstate.kubeconfig_path(opts.get("kubeconfig"))
        with stubstate.state() as s:
            c = stubstate.cluster_for(s, kc)
            if c is None:
                die(f"Kubernetes cluster unreachable: kubeconfig {kc}")
            rel = c["releases"].get(pos[1])
            if rel is None:
                die("release: not found")
            if cmd == "status":
                print('{"name":"%s","info":{"status":"%s"}}' % (pos[1], rel["status"]))
            elif cmd == "history":
                hist = rel.get("history") or [rel["status"]]
                print("[" + ",".join('{"revision":%d,"status":"%s"}' % (i + 1, st) for i, st in enumerate(hist)) + "]")
            elif cmd == "rollback":
                if not any(st in ("deployed", "superseded") for st in rel.get("history") or [rel["status"]]):
                    die("no revision to roll back to")
                rel["status"] = "deployed"
            else:
                del c["releases"][pos[1]]
        return 0
    die(f"unknown command \"{cmd}\" for \"helm\" (this fake knows dependency build, template, status, history, rollback, uninstall)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
