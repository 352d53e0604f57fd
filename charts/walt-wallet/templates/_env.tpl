{{/* Environment of wallet-api: config values substituted into the rendered HOCON files. */}}
{{- define "walt-wallet.env" -}}
- name: JAVA_TOOL_OPTIONS
  value: {{ printf "%s%s" (include "walt-wallet.javaToolOptions" .) (include "wd-lib.otel.javaAgentOption" .) | quote }}
{{- include "wd-lib.otel.javaEnv" . }}
{{- /* db.conf reads both: username = "${DB_USERNAME}", password = "${DB_PASSWORD}" */}}
- name: DB_USERNAME
  {{- if .Values.database.usernameFromSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.database.existingSecret "database.existingSecret") }}
      key: username
  {{- else }}
  value: {{ .Values.database.user | quote }}
  {{- end }}
- name: DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.database.existingSecret "database.existingSecret") }}
      key: password
{{- range $env, $key := dict "WALLET_ENCRYPTION_KEY" "encryptionKey" "WALLET_SIGN_KEY" "signKey" "WALLET_TOKEN_KEY" "tokenKey" }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list $ $.Values.existingSecret "existingSecret") }}
      key: {{ $key }}
{{- end }}
{{- if .Values.transit.enabled }}
- name: WALLET_TRANSIT_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.transit.secretName "transit.secretName") }}
      key: token
{{- end }}
{{- if .Values.logging.minLevel }}
- name: KLOGGING_CONFIG_PATH
  value: /waltid-wallet-api/logging/klogging.json
{{- end }}
{{- end -}}

{{/* klogging.json (values logging): only minLevel and above reach stdout, so the request bodies
the wallet logs at INFO (passwords, tokens) never reach Promtail and Loki. */}}
{{- define "walt-wallet.volumes" -}}
{{- if .Values.logging.minLevel }}
- name: logging
  configMap:
    name: {{ include "wd-lib.fullname" . }}-logging
{{- end }}
{{- include "walt-wallet.vaultCA.volumes" . }}
{{- include "wd-lib.otel.javaAgentVolume" . }}
{{- end -}}
{{- define "walt-wallet.volumeMounts" -}}
{{- if .Values.logging.minLevel }}
- name: logging
  mountPath: /waltid-wallet-api/logging
  readOnly: true
{{- end }}
{{- include "walt-wallet.vaultCA.volumeMounts" . }}
{{- include "wd-lib.otel.javaAgentMount" . }}
{{- end -}}
{{- define "walt-wallet.initContainers" -}}
{{- include "walt-wallet.vaultCA.initContainers" . }}
{{- include "wd-lib.otel.javaAgentInitContainer" . }}
{{- end -}}
