{{/*
Monitoring helpers (docs/observability.md): ServiceMonitor for what serves metrics, blackbox
Probes for what does not, one PrometheusRule per chart, NetworkPolicy ingress from Prometheus /
the blackbox exporter. Every monitoring.coreos.com object renders only when the cluster serves
the CRDs (kube-prometheus-stack installs them first, waltid-facts §4): `helm template` without
--api-versions and a cluster without the platform render none.

Values a chart declares (defaults in each chart's values.yaml):
  metrics: {enabled, port, path, serviceMonitor: {enabled, interval, bearerTokenSecret: {name, key}}}
  monitoring:
    release: the `release` label kube-prometheus-stack's default selectors match
    prometheus: {namespace, podLabels}  (the NetworkPolicy peer of the metrics port)
    blackbox: {prober, podLabels}        (the prober's Service host:port; the peer of the probed port)
    probe: {enabled, path, module, insecureModule, interval, external}
    rules: {enabled, runbookBaseUrl}
*/}}

{{- define "wd-lib.monitoringApi" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" -}}true{{- end -}}
{{- end -}}

{{- define "wd-lib.monitoringLabels" -}}
{{ include "wd-lib.labels" . }}
{{- with .Values.monitoring.release }}
release: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* ServiceMonitor for charts that serve Prometheus metrics. */}}
{{- define "wd-lib.servicemonitor" -}}
{{- $m := .Values.metrics -}}
{{- if and $m.enabled $m.serviceMonitor.enabled (include "wd-lib.monitoringApi" .) }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "wd-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "wd-lib.monitoringLabels" . | nindent 4 }}
spec:
  selector:
    matchLabels:
      {{- include "wd-lib.selectorLabels" . | nindent 6 }}
  namespaceSelector:
    matchNames: [{{ .Release.Namespace | quote }}]
  endpoints:
    - port: {{ $m.port }}
      path: {{ $m.path }}
      interval: {{ $m.serviceMonitor.interval | default "30s" }}
      {{- with $m.serviceMonitor.bearerTokenSecret }}
      {{- if .name }}
      authorization:
        type: Bearer
        credentials:
          name: {{ .name }}
          key: {{ .key }}
      {{- end }}
      {{- end }}
{{- end }}
{{- end -}}

{{/*
Blackbox Probes of the health path: internal (the Service) and, with a public host, external
(the public URL through the ingress: proves DNS inside the cluster, the ingress route and TLS).
*/}}
{{- define "wd-lib.probeTargets" -}}
{{- $p := .Values.monitoring.probe -}}
{{- $port := 0 -}}{{- $portName := .Values.probes.port -}}
{{- range (include "wd-lib.ports" . | fromYamlArray) }}{{ if eq .name $portName }}{{ $port = .port }}{{ end }}{{ end -}}
{{- $scheme := lower (.Values.probes.scheme | default "HTTP") -}}
- kind: internal
  url: {{ printf "%s://%s.%s.svc:%v%s" $scheme (include "wd-lib.fullname" .) .Release.Namespace $port $p.path }}
  module: {{ ternary $p.insecureModule $p.module (eq $scheme "https") }}
{{- if and $p.external .Values.host }}
- kind: external
  url: {{ printf "%s://%s%s" (ternary "https" "http" (eq (toString .Values.global.tls) "true")) .Values.host $p.path }}
  module: {{ $p.module }}
{{- end }}
{{- end -}}

{{- define "wd-lib.probe" -}}
{{- $p := .Values.monitoring.probe -}}
{{- if and $p.enabled (include "wd-lib.monitoringApi" .) }}
{{- range (include "wd-lib.probeTargets" . | fromYamlArray) }}
---
apiVersion: monitoring.coreos.com/v1
kind: Probe
metadata:
  name: {{ printf "%s-%s" (include "wd-lib.fullname" $) .kind }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "wd-lib.monitoringLabels" $ | nindent 4 }}
spec:
  jobName: {{ printf "probe-%s" .kind }}
  interval: {{ $p.interval }}
  module: {{ .module }}
  prober:
    url: {{ $.Values.monitoring.blackbox.prober }}
  targets:
    staticConfig:
      static: [{{ .url | quote }}]
      labels:
        service: {{ include "wd-lib.name" $ }}
        probe: {{ .kind }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
wd-lib.prometheusrule: the chart's alerts. The chart may define <chart>.alerts (a YAML list of
rules, each with its own annotations) added to the common ones:
  probe enabled   -> ProbeFailed (internal), PublicUrlDown (external)
  serviceMonitor  -> MetricsTargetDown
  always          -> PodCrashLooping (kube-state-metrics)
Every alert: severity, summary, description, runbook_url (docs/runbooks/<alert>.md).
*/}}
{{- define "wd-lib.runbook" -}}
{{- printf "%s/%s.md" (trimSuffix "/" .ctx.Values.monitoring.rules.runbookBaseUrl) .file -}}
{{- end -}}

{{- define "wd-lib.prometheusrule" -}}
{{- if and .Values.monitoring.rules.enabled (include "wd-lib.monitoringApi" .) }}
{{- $svc := include "wd-lib.name" . -}}
{{- $ns := .Release.Namespace -}}
{{- $rules := list -}}
{{- if .Values.monitoring.probe.enabled }}
{{- $rules = append $rules (dict
  "alert" "ProbeFailed"
  "expr" (printf "probe_success{job=\"probe-internal\", service=\"%s\"} == 0" $svc)
  "for" "3m"
  "labels" (dict "severity" "critical" "service" $svc)
  "annotations" (dict
    "summary" (printf "%s does not answer its health check" $svc)
    "description" (printf "The blackbox exporter has failed to get a 2xx from %s's health path ({{ $labels.instance }}) through its Service for 3 minutes." $svc)
    "runbook_url" (include "wd-lib.runbook" (dict "ctx" . "file" "probe-failed")))) }}
{{- if and .Values.monitoring.probe.external .Values.host }}
{{- $rules = append $rules (dict
  "alert" "PublicUrlDown"
  "expr" (printf "probe_success{job=\"probe-external\", service=\"%s\"} == 0 and on(service) probe_success{job=\"probe-internal\", service=\"%s\"} == 1" $svc $svc)
  "for" "5m"
  "labels" (dict "severity" "critical" "service" $svc)
  "annotations" (dict
    "summary" (printf "%s's public URL fails while the service itself is healthy" $svc)
    "description" (printf "{{ $labels.instance }} has failed through the ingress for 5 minutes while %s answers on its Service: look at DNS inside the cluster, the Ingress, the ingress controller and the TLS certificate." $svc)
    "runbook_url" (include "wd-lib.runbook" (dict "ctx" . "file" "public-url-down")))) }}
{{- end }}
{{- end }}
{{- if and .Values.metrics.enabled .Values.metrics.serviceMonitor.enabled }}
{{- $rules = append $rules (dict
  "alert" "MetricsTargetDown"
  "expr" (printf "up{namespace=\"%s\", service=\"%s\"} == 0" $ns (include "wd-lib.fullname" .))
  "for" "5m"
  "labels" (dict "severity" "warning" "service" $svc)
  "annotations" (dict
    "summary" (printf "Prometheus cannot scrape %s" $svc)
    "description" (printf "The scrape of %s ({{ $labels.instance }}) has failed for 5 minutes: the pod is down, the NetworkPolicy blocks Prometheus, or the metrics credentials are wrong." $svc)
    "runbook_url" (include "wd-lib.runbook" (dict "ctx" . "file" "metrics-target-down")))) }}
{{- end }}
{{- $rules = append $rules (dict
  "alert" "PodCrashLooping"
  "expr" (printf "increase(kube_pod_container_status_restarts_total{namespace=\"%s\", container=\"%s\"}[15m]) >= 3" $ns .Chart.Name)
  "for" "5m"
  "labels" (dict "severity" "warning" "service" $svc)
  "annotations" (dict
    "summary" (printf "%s is restarting repeatedly" $svc)
    "description" (printf "Container %s of pod {{ $labels.pod }} restarted {{ $value }} times in 15 minutes." .Chart.Name)
    "runbook_url" (include "wd-lib.runbook" (dict "ctx" . "file" "pod-crash-looping")))) }}
{{- $extra := include (printf "%s.alerts" .Chart.Name) . | trim -}}
{{- if $extra }}
{{- range (fromYamlArray $extra) }}{{ $rules = append $rules . }}{{ end }}
{{- end }}
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {{ include "wd-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "wd-lib.monitoringLabels" . | nindent 4 }}
spec:
  groups:
    - name: {{ $svc }}
      rules:
        {{- toYaml $rules | nindent 8 }}
{{- end }}
{{- end -}}

{{/*
wd-lib.monitoringNetworkPolicy: for a chart installed on its own, Prometheus -> the metrics
port and the blackbox exporter -> the probed port. The umbrella installs the same edges itself.
*/}}
{{- define "wd-lib.monitoringPeer" -}}
namespaceSelector:
  matchLabels:
    kubernetes.io/metadata.name: {{ .ns }}
podSelector:
  matchLabels:
    {{- toYaml .labels | nindent 4 }}
{{- end -}}

{{- define "wd-lib.monitoringNetworkPolicy" -}}
{{- if and .Values.networkPolicy.enabled (include "wd-lib.monitoringApi" .) }}
{{- $mon := .Values.monitoring -}}
{{- if and .Values.metrics.enabled .Values.metrics.serviceMonitor.enabled }}
---
{{ include "wd-lib.networkpolicy" (dict "ctx" . "name" (printf "%s-from-prometheus" (include "wd-lib.name" .)) "selector" (include "wd-lib.selectorLabels" . | fromYaml) "comment" "Prometheus -> this service's metrics port" "ingress" (list (dict "from" (list (include "wd-lib.monitoringPeer" (dict "ns" $mon.prometheus.namespace "labels" $mon.prometheus.podLabels) | fromYaml)) "ports" (list (dict "protocol" "TCP" "port" .Values.metrics.port))))) }}
{{- end }}
{{- if $mon.probe.enabled }}
---
{{ include "wd-lib.networkpolicy" (dict "ctx" . "name" (printf "%s-from-blackbox" (include "wd-lib.name" .)) "selector" (include "wd-lib.selectorLabels" . | fromYaml) "comment" "blackbox exporter -> this service's health port (internal Probe)" "ingress" (list (dict "from" (list (include "wd-lib.monitoringPeer" (dict "ns" $mon.prometheus.namespace "labels" $mon.blackbox.podLabels) | fromYaml)) "ports" (list (dict "protocol" "TCP" "port" .Values.probes.port))))) }}
{{- end }}
{{- end }}
{{- end -}}
