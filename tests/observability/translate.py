"""A small translator from the rendered prometheus-operator objects (ServiceMonitor, Probe) to a
plain Prometheus scrape configuration, for the end-to-end scrape test on loopback.

It follows what prometheus-operator generates for these two kinds (job label = the Service name
for a ServiceMonitor endpoint, `jobName` for a Probe; the Probe's target goes to the prober as
`?target=` with `module`, and becomes `instance`), but only for the fields our charts use. The
cluster is replaced by two callables: `service_addr(service, port)` -> "127.0.0.1:port" and
`rewrite_url(url)` -> the loopback URL of a fake. Not for anything else."""


def _service_for(sm, services):
    sel = sm["spec"]["selector"]["matchLabels"]
    ns = sm["spec"].get("namespaceSelector", {}).get("matchNames") or [sm["metadata"]["namespace"]]
    for s in services:
        labels = s["metadata"].get("labels", {})
        if s["metadata"]["namespace"] in ns and all(labels.get(k) == v for k, v in sel.items()):
            return s
    raise AssertionError(f"ServiceMonitor {sm['metadata']['name']} selects no rendered Service ({sel})")


def scrape_configs(docs, service_addr, rewrite_url, prober_addr, secret_file, interval="1s"):
    """docs: rendered objects. secret_file(name, key) -> a file holding that Secret key (Bearer)."""
    services = [d for d in docs if d["kind"] == "Service"]
    jobs = []
    for d in docs:
        ns, name = d["metadata"].get("namespace"), d["metadata"]["name"]
        if d["kind"] == "ServiceMonitor":
            svc = _service_for(d, services)
            for i, ep in enumerate(d["spec"]["endpoints"]):
                port = next(p for p in svc["spec"]["ports"] if p["name"] == ep["port"])
                job = {
                    "job_name": f"serviceMonitor/{ns}/{name}/{i}",
                    "scrape_interval": interval,
                    "scrape_timeout": interval,
                    "metrics_path": ep.get("path", "/metrics"),
                    "static_configs": [{
                        "targets": [service_addr(svc["metadata"]["name"], port["port"])],
                        # the labels the operator's relabelling attaches to a Service endpoint target
                        "labels": {"namespace": ns, "service": svc["metadata"]["name"], "job": svc["metadata"]["name"],
                                   "endpoint": ep["port"]},
                    }],
                }
                auth = ep.get("authorization")
                if auth:
                    c = auth["credentials"]
                    job["authorization"] = {"type": auth.get("type", "Bearer"), "credentials_file": secret_file(c["name"], c["key"])}
                jobs.append(job)
        elif d["kind"] == "Probe":
            st = d["spec"]["targets"]["staticConfig"]
            jobs.append({
                "job_name": f"probe/{ns}/{name}",
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "metrics_path": d["spec"].get("prober", {}).get("path", "/probe"),
                "params": {"module": [d["spec"]["module"]]},
                "static_configs": [{"targets": [rewrite_url(u) for u in st["static"]],
                                    "labels": dict(st.get("labels") or {}, job=d["spec"].get("jobName", f"probe/{ns}/{name}"))}],
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": prober_addr(d["spec"]["prober"]["url"])},
                ],
            })
    return jobs
