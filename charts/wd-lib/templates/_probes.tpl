{{/*
Probes from .Values.probes: {type: http|tcp, path, startupPath, readinessPath, livenessPath
(default: path), port (a container port name), scheme, startup/readiness/liveness:
{periodSeconds, failureThreshold, timeoutSeconds}}.
*/}}
{{- define "wd-lib.probeAction" -}}
{{- $p := .ctx.Values.probes -}}
{{- if eq ($p.type | default "http") "tcp" -}}
tcpSocket:
  port: {{ $p.port }}
{{- else -}}
httpGet:
  path: {{ .path }}
  port: {{ $p.port }}
  scheme: {{ $p.scheme | default "HTTP" }}
{{- end -}}
{{- end -}}

{{- define "wd-lib.probes" -}}
{{- $p := .Values.probes -}}
{{- range $kind := list "startup" "readiness" "liveness" }}
{{ $kind }}Probe:
  {{- $path := get $p (printf "%sPath" $kind) | default $p.path }}
  {{- include "wd-lib.probeAction" (dict "ctx" $ "path" $path) | nindent 2 }}
  {{- $t := get $p $kind }}
  periodSeconds: {{ $t.periodSeconds }}
  failureThreshold: {{ $t.failureThreshold }}
  timeoutSeconds: {{ $t.timeoutSeconds | default 3 }}
{{- end }}
{{- end -}}
