"""Writes N Kubernetes objects for wd-verify's benchmark: groups of 8 (Deployment, Service,
ConfigMap with a URL file, Secret, ServiceAccount, two NetworkPolicies, Ingress) over 10
namespaces, each workload calling the next one's Service and its neighbour's public host, so
every check and every index is exercised. Usage: gen_manifests.py N > manifests.yaml"""
import sys

n = int(sys.argv[1])
groups = max(1, n // 8)
out = []
for i in range(groups):
    ns = f"ns{i % 10}"
    nxt = i + 10 if i + 10 < groups else i % 10
    sec = "securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}"
    csec = "securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}"
    out.append(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: svc{i}, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: svc{i}}}}}
  template:
    metadata: {{labels: {{app: svc{i}, tier: bench}}}}
    spec:
      {sec}
      serviceAccountName: svc{i}
      containers:
        - name: app
          image: registry.example.org/bench/svc{i}:1.0.{i}
          {csec}
          ports: [{{name: http, containerPort: 8080}}]
          resources: {{requests: {{cpu: 1m, memory: 1Mi}}, limits: {{cpu: 10m, memory: 4Mi}}}}
          env:
            - {{name: LIBRETRANSLATE_URL, value: "http://svc{nxt}.ns{nxt % 10}.svc.cluster.local:80"}}
            - {{name: DB_PASSWORD, valueFrom: {{secretKeyRef: {{name: svc{i}, key: password}}}}}}
          volumeMounts: [{{name: cfg, mountPath: /cfg}}]
      volumes: [{{name: cfg, configMap: {{name: svc{i}}}}}]""")
    out.append(f"""apiVersion: v1
kind: Service
metadata: {{name: svc{i}, namespace: {ns}}}
spec:
  selector: {{app: svc{i}}}
  ports: [{{name: http, port: 80, targetPort: http}}]""")
    out.append(f"""apiVersion: v1
kind: ConfigMap
metadata: {{name: svc{i}, namespace: {ns}}}
data:
  backends.json: |
    {{"backends": [{{"config": {{"issuerBaseUrl": "http://svc{nxt}.bench.example.org"}}}}]}}""")
    out.append(f"""apiVersion: v1
kind: Secret
metadata: {{name: svc{i}, namespace: {ns}}}
stringData: {{password: x}}""")
    out.append(f"""apiVersion: v1
kind: ServiceAccount
metadata: {{name: svc{i}, namespace: {ns}}}""")
    out.append(f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: svc{i}-egress, namespace: {ns}}}
spec:
  podSelector: {{matchLabels: {{app: svc{i}}}}}
  policyTypes: [Egress]
  egress:
    - to: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: ns{nxt % 10}}}}}, podSelector: {{matchLabels: {{app: svc{nxt}}}}}}}]
      ports: [{{port: 8080}}]
    - to: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: ingress-nginx}}}}}}]
    - to: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: kube-system}}}}, podSelector: {{matchLabels: {{k8s-app: kube-dns}}}}}}]
      ports: [{{port: 53, protocol: UDP}}]""")
    out.append(f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: svc{i}-ingress, namespace: {ns}}}
spec:
  podSelector: {{matchLabels: {{app: svc{i}}}}}
  ingress:
    - from: [{{namespaceSelector: {{}}, podSelector: {{matchLabels: {{tier: bench}}}}}}, {{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: ingress-nginx}}}}}}]
      ports: [{{port: http}}]""")
    out.append(f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: svc{i}, namespace: {ns}}}
spec:
  rules:
    - host: svc{i}.bench.example.org
      http: {{paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: svc{i}, port: {{name: http}}}}}}}}]}}""")
print("\n---\n".join(out))
