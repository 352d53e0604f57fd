{{/*
wd-lib.networkpolicy: one NetworkPolicy. dict: ctx, name, selector (labels), ingress, egress
(lists of rules as in the API; either may be absent), comment (why the edge exists).
*/}}
{{- define "wd-lib.networkpolicy" -}}
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
  {{- with .ingress }}
  ingress:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .egress }}
  egress:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
