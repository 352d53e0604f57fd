{{- define "keycloak.env" -}}
- name: JAVA_TOOL_OPTIONS
  value: {{ .Values.javaToolOptions | quote }}
- name: KEYCLOAK_ADMIN
  value: {{ .Values.adminUser | quote }}
- name: KEYCLOAK_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.existingSecret "existingSecret") }}
      key: password
- name: KC_DB
  value: postgres
- name: KC_DB_URL
  value: {{ printf "jdbc:postgresql://%s:%v/%s" .Values.database.host .Values.database.port .Values.database.name | quote }}
- name: KC_DB_USERNAME
  value: {{ .Values.database.user | quote }}
- name: KC_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.database.existingSecret "database.existingSecret") }}
      key: password
{{- /* TLS ends at the ingress; Keycloak serves http and trusts X-Forwarded-* from it. */}}
- name: KC_HOSTNAME
  value: {{ printf "%s://%s" (ternary "https" "http" (.Values.global.tls | default true)) (required "keycloak: set host (the public host, e.g. auth.<domain>)" .Values.host) | quote }}
- name: KC_HTTP_ENABLED
  value: "true"
- name: KC_PROXY_HEADERS
  value: xforwarded
- name: KC_HEALTH_ENABLED
  value: "true"
- name: KC_METRICS_ENABLED
  value: {{ .Values.metrics.enabled | quote }}
{{- end -}}
{{- define "keycloak.volumes" -}}{{- end -}}
{{- define "keycloak.volumeMounts" -}}{{- end -}}
{{- define "keycloak.initContainers" -}}{{- end -}}
