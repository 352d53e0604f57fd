{{/* Tracing (issue 16 option 2): the app's OTLP/HTTP JSON exporter (waltid-facts, verifiably-go
contract: VERIFIABLY_OTEL_ENDPOINT is the base URL, it posts to <url>/v1/traces) sends to the
platform's collector named by global.otel (wd-lib _telemetry.tpl). */}}
{{- define "verifiably-go.otelEnv" -}}
{{- if include "wd-lib.otel.on" . }}
- name: VERIFIABLY_OTEL_ENDPOINT
  value: {{ include "wd-lib.otel.httpEndpoint" . | quote }}
- name: VERIFIABLY_OTEL_SERVICE_NAME
  value: {{ include "wd-lib.otel.serviceName" . | quote }}
- name: VERIFIABLY_OTEL_SAMPLE_RATE
  value: {{ .Values.global.otel.sampleRate | toString | quote }}
{{- end }}
{{- end -}}
