{{- define "walt-issuer.env" -}}
- name: JAVA_TOOL_OPTIONS
  value: {{ printf "%s%s" (include "walt-issuer.javaToolOptions" .) (include "wd-lib.otel.javaAgentOption" .) | quote }}
{{- include "wd-lib.otel.javaEnv" . }}
- name: ISSUER_CI_TOKEN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.existingSecret "existingSecret") }}
      key: ciTokenKey
{{- if .Values.persistence.redis.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.persistence.redis.existingSecret "persistence.redis.existingSecret") }}
      key: password
{{- end }}
{{- if .Values.logging.minLevel }}
- name: KLOGGING_CONFIG_PATH
  value: /waltid-issuer-api/logging/klogging.json
{{- end }}
{{- end -}}

{{/* klogging.json (values logging): only minLevel and above reach stdout (see values.yaml). */}}
{{- define "walt-issuer.volumes" -}}
{{- if .Values.logging.minLevel }}
- name: logging
  configMap:
    name: {{ include "wd-lib.fullname" . }}-logging
{{- end }}
{{- include "walt-issuer.vaultCA.volumes" . }}
{{- include "wd-lib.otel.javaAgentVolume" . }}
{{- end -}}
{{- define "walt-issuer.volumeMounts" -}}
{{- if .Values.logging.minLevel }}
- name: logging
  mountPath: /waltid-issuer-api/logging
  readOnly: true
{{- end }}
{{- include "walt-issuer.vaultCA.volumeMounts" . }}
{{- include "wd-lib.otel.javaAgentMount" . }}
{{- end -}}
{{- define "walt-issuer.initContainers" -}}
{{- include "walt-issuer.vaultCA.initContainers" . }}
{{- include "wd-lib.otel.javaAgentInitContainer" . }}
{{- end -}}
