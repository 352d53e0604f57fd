{{/*
wd-lib.networkpolicy: one NetworkPolicy. dict: ctx, name, selector (labels), ingress, egress
(lists of rules as in the API; either may be absent), comment (why the edge exists).
*/}}
{{- define "wd-lib.networkpolicy" -}}
{{- /* Istio ambient (global.mesh.ambient; docs/platform.md "Istio ambient"): between enrolled
pods ztunnel carries every connection as HBONE to port 15008 of the destination pod, and the
kubelet's probes reach enrolled pods from 169.254.7.127 (istio-cni SNAT, cni/pkg/iptables):
each rule that names ports also allows 15008, and a policy with Ingress admits the probes. The
peers stay exactly those of the rule. */ -}}
{{- $ingress := .ingress -}}
{{- $egress := .egress -}}
{{- if ((.ctx.Values.global).mesh).ambient -}}
{{- $hbone := dict "protocol" "TCP" "port" 15008 -}}
{{- $ingress = list -}}
{{- range .ingress -}}
{{- $r := deepCopy . -}}
{{- if $r.ports }}{{ $_ := set $r "ports" (append $r.ports $hbone) }}{{ end -}}
{{- $ingress = append $ingress $r -}}
{{- end -}}
{{- if hasKey . "ingress" -}}
{{- $ingress = append $ingress (dict "from" (list (dict "ipBlock" (dict "cidr" "169.254.7.127/32")))) -}}
{{- end -}}
{{- $egress = list -}}
{{- range .egress -}}
{{- $r := deepCopy . -}}
{{- if $r.ports }}{{ $_ := set $r "ports" (append $r.ports $hbone) }}{{ end -}}
{{- $egress = append $egress $r -}}
{{- end -}}
{{- end }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ printf "%s-%s" .ctx.Release.Name .name | trunc 63 | trimSuffix "-" }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    app.kubernetes.io/instance: {{ .ctx.Release.Name }}
    app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
  annotations:
    wd.io/edge: {{ .comment | quote }}
spec:
  podSelector:
    {{- if .selector }}
    matchLabels:
      {{- toYaml .selector | nindent 6 }}
    {{- else }}
    {}
    {{- end }}
  policyTypes:
    {{- if hasKey . "ingress" }}
    - Ingress
    {{- end }}
    {{- if hasKey . "egress" }}
    - Egress
    {{- end }}
  {{- with $ingress }}
  ingress:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $egress }}
  egress:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
wd-lib.ownNetworkPolicy: for a chart installed on its own, allow ingress to its ports from pods
of the same release and from the ingress controller. The umbrella turns this off
(networkPolicy.enabled=false) and installs its own default-deny + per-edge rules.
*/}}
{{- define "wd-lib.ownNetworkPolicy" -}}
{{- if .Values.networkPolicy.enabled }}
{{- $ports := list -}}
{{- range (include "wd-lib.ports" . | fromYamlArray) -}}
{{- $ports = append $ports (dict "protocol" "TCP" "port" (int .port)) -}}
{{- end -}}
{{- $from := list (dict "podSelector" (dict "matchLabels" (dict "app.kubernetes.io/instance" .Release.Name))) (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" .Values.networkPolicy.ingressControllerNamespace))) -}}
{{ include "wd-lib.networkpolicy" (dict "ctx" . "name" (include "wd-lib.name" .) "selector" (include "wd-lib.selectorLabels" . | fromYaml) "comment" "same release and the ingress controller -> this service" "ingress" (list (dict "from" $from "ports" $ports))) }}
{{- end }}
{{- end -}}
