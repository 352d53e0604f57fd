{{/*
KEDA (issue 16 option 4; terraform/platform keda_enabled installs it): with autoscaling.enabled AND
autoscaling.keda.enabled the chart renders a keda.sh/v1alpha1 ScaledObject instead of the HPA
(wd-lib.hpa skips itself; never both). It sits behind autoscaling.enabled on purpose: every guard
that refuses replicas > 1 or an HPA (wd-lib.singleReplica, requireSharedState, the charts' own)
refuses a ScaledObject the same way. Triggers: a Prometheus query (the chart passes `query`: a
request rate of that service) with autoscaling.keda.threshold per replica, and CPU at
autoscaling.targetCPUUtilizationPercentage as the HPA had. Prometheus: autoscaling.keda.serverAddress,
else global.prometheus.url (the umbrella). Without the keda.sh/v1alpha1 API the render fails
(installing it would fail anyway): helm template --api-versions keda.sh/v1alpha1.
dict: ctx, query.
*/}}
{{- define "wd-lib.keda.on" -}}
{{- $v := .Values.autoscaling -}}
{{- if and $v.enabled ($v.keda | default dict).enabled -}}true{{- end -}}
{{- end -}}

{{- define "wd-lib.scaledObject" -}}
{{- $ctx := .ctx -}}
{{- if include "wd-lib.keda.on" $ctx }}
{{- if not ($ctx.Capabilities.APIVersions.Has "keda.sh/v1alpha1") }}
{{- fail (printf "%s: autoscaling.keda.enabled needs KEDA's CRDs (keda.sh/v1alpha1): terraform/platform keda_enabled=true, or set autoscaling.keda.enabled=false for the plain HPA (rendering offline: --api-versions keda.sh/v1alpha1)" $ctx.Chart.Name) }}
{{- end }}
{{- $v := $ctx.Values.autoscaling -}}
{{- $k := $v.keda -}}
{{- $server := $k.serverAddress | default (($ctx.Values.global | default dict).prometheus | default dict).url -}}
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ include "wd-lib.fullname" $ctx }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "wd-lib.labels" $ctx | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "wd-lib.fullname" $ctx }}
  minReplicaCount: {{ $v.minReplicas }}
  maxReplicaCount: {{ $v.maxReplicas }}
  pollingInterval: {{ $k.pollingInterval }}
  cooldownPeriod: {{ $k.cooldownPeriod }}
  triggers:
    - type: prometheus
      name: request-rate
      metadata:
        serverAddress: {{ required (printf "%s: autoscaling.keda.serverAddress or global.prometheus.url (Prometheus that KEDA queries)" $ctx.Chart.Name) $server | quote }}
        query: {{ .query | quote }}
        threshold: {{ required (printf "%s: autoscaling.keda.threshold (requests/s per replica)" $ctx.Chart.Name) $k.threshold | toString | quote }}
        ignoreNullValues: "true"
    - type: cpu
      metricType: Utilization
      metadata:
        value: {{ $v.targetCPUUtilizationPercentage | toString | quote }}
{{- end }}
{{- end -}}
