{{- define "walt-issuer.env" -}}
- name: JAVA_TOOL_OPTIONS
  value: {{ .Values.javaToolOptions | quote }}
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
{{- end -}}

{{- define "walt-issuer.volumes" -}}{{- end -}}
{{- define "walt-issuer.volumeMounts" -}}{{- end -}}
{{- define "walt-issuer.initContainers" -}}{{- end -}}
