{{- define "walt-verifier.env" -}}
- name: JAVA_TOOL_OPTIONS
  value: {{ printf "%s%s" .Values.javaToolOptions (include "wd-lib.otel.javaAgentOption" .) | quote }}
{{- include "wd-lib.otel.javaEnv" . }}
{{- if .Values.persistence.redis.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.persistence.redis.existingSecret "persistence.redis.existingSecret") }}
      key: password
{{- end }}
{{- end -}}

{{/* The request signing key is a file (requestSigningKeyFile), mounted from its Secret. */}}
{{- define "walt-verifier.volumes" -}}
- name: signing-key
  secret:
    secretName: {{ include "wd-lib.secretName" (list . .Values.existingSecret "existingSecret") }}
    defaultMode: 0400
    items:
      - key: request-signing.key.pem
        path: {{ base .Values.signingKeyPath }}
{{- include "wd-lib.otel.javaAgentVolume" . }}
{{- end -}}
{{- define "walt-verifier.volumeMounts" -}}
- name: signing-key
  mountPath: {{ dir .Values.signingKeyPath }}
  readOnly: true
{{- include "wd-lib.otel.javaAgentMount" . }}
{{- end -}}
{{- define "walt-verifier.initContainers" -}}
{{- include "wd-lib.otel.javaAgentInitContainer" . }}
{{- end -}}
