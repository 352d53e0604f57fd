{{/* Public components: values key (subchart), service port name, backend protocol. */}}
{{- define "waltid.public" -}}
- {chart: walt-issuer, port: http}
- {chart: walt-verifier, port: http}
- {chart: walt-wallet, port: http}
- {chart: verifiably-go, port: http}
- {chart: keycloak, port: http}
- {chart: wso2is, port: https, backendProtocol: HTTPS}
{{- end -}}

{{- define "waltid.selector" -}}
app.kubernetes.io/name: {{ .chart }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end -}}

{{/*
The container port of a subchart: its `port` value when the umbrella values set it (wd-render
does, from the scenario), else the documented default (waltid-facts §1-§3).
*/}}
{{- define "waltid.port" -}}
{{- $defaults := dict "walt-issuer" 7002 "walt-verifier" 7003 "walt-wallet" 7001 "verifiably-go" 8080 "keycloak" 8080 "wso2is" 9443 "libretranslate" 5000 "redis" 6379 -}}
{{- $v := index .ctx.Values .chart | default dict -}}
{{- $v.port | default (index $defaults .chart) -}}
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
