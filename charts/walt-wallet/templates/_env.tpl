{{/* Environment of wallet-api: config values substituted into the rendered HOCON files. */}}
{{- define "walt-wallet.env" -}}
- name: JAVA_TOOL_OPTIONS
  value: {{ .Values.javaToolOptions | quote }}
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
{{- end -}}

{{- define "walt-wallet.volumes" -}}{{- end -}}
{{- define "walt-wallet.volumeMounts" -}}{{- end -}}
{{- define "walt-wallet.initContainers" -}}{{- end -}}
