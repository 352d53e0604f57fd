{{/*
The scenario's components by chart, as YAML: {<chart>: {component, service, host, port, scheme,
public}}. The `components` value (wd-render writes it from config/scenarios/waltid.yaml
render.components and addons; `port` is the Kubernetes port), else, on pure defaults,
files/components.yaml (the same table, generated from wd-render's output by `make chart-files`).
*/}}
{{- define "waltid.components" -}}
{{- .Values.components | default (.Files.Get "files/components.yaml" | fromYaml).components | toYaml -}}
{{- end -}}

{{/*
Public components, as a YAML list: chart (values key, subchart), port (the Service port name:
the component's scheme), backendProtocol (HTTPS for an https component).
*/}}
{{- define "waltid.public" -}}
{{- $out := list -}}
{{- range $chart, $c := include "waltid.components" . | fromYaml -}}
{{- if $c.public -}}
{{- $row := dict "chart" $chart "port" $c.scheme -}}
{{- if eq $c.scheme "https" }}{{ $_ := set $row "backendProtocol" "HTTPS" }}{{ end -}}
{{- $out = append $out $row -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{- define "waltid.selector" -}}
app.kubernetes.io/name: {{ .chart }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end -}}

{{/*
The container port of a subchart: its `port` value when set, else the component table's
(waltid.components: the scenario's Kubernetes port).
*/}}
{{- define "waltid.port" -}}
{{- $v := index .ctx.Values .chart | default dict -}}
{{- $row := index (include "waltid.components" .ctx | fromYaml) .chart | default dict -}}
{{- $v.port | default $row.port | required (printf "waltid: %s is not a component of the scenario (components / files/components.yaml)" .chart) -}}
{{- end -}}

{{/*
One allowed edge between two sets of pods of this release: an Egress rule on the source and an
Ingress rule on the destination. dict: ctx, from, to (selectors), port, name, comment.
*/}}
{{- define "waltid.edge" -}}
{{- $ports := list (dict "protocol" "TCP" "port" (int .port)) }}
---
{{ include "wd-lib.networkpolicy" (dict "ctx" .ctx "name" (printf "%s-egress" .name) "selector" .from "comment" .comment "egress" (list (dict "to" (list (dict "podSelector" (dict "matchLabels" .to))) "ports" $ports))) }}
---
{{ include "wd-lib.networkpolicy" (dict "ctx" .ctx "name" (printf "%s-ingress" .name) "selector" .to "comment" .comment "ingress" (list (dict "from" (list (dict "podSelector" (dict "matchLabels" .from))) "ports" $ports))) }}
{{- end -}}

{{- define "waltid.nsPeer" -}}
namespaceSelector:
  matchLabels:
    kubernetes.io/metadata.name: {{ .namespace }}
{{- with .podLabels }}
podSelector:
  matchLabels:
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- end -}}
