{{- define "walt-verifier.env" -}}
- name: JAVA_TOOL_OPTIONS
  value: {{ .Values.javaToolOptions | quote }}
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
{{- end -}}
{{- define "walt-verifier.volumeMounts" -}}
- name: signing-key
  mountPath: {{ dir .Values.signingKeyPath }}
  readOnly: true
{{- end -}}
{{- define "walt-verifier.initContainers" -}}{{- end -}}
