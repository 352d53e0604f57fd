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
{{- $tls := include "wd-lib.internalCA.dbParams" . }}
- name: KC_DB_URL
  value: {{ printf "jdbc:postgresql://%s:%v/%s%s" .Values.database.host .Values.database.port .Values.database.name (ternary (printf "?%s" $tls) "" (ne $tls "")) | quote }}
- name: KC_DB_USERNAME
  {{- if .Values.database.usernameFromSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.database.existingSecret "database.existingSecret") }}
      key: username
  {{- else }}
  value: {{ .Values.database.user | quote }}
  {{- end }}
- name: KC_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.database.existingSecret "database.existingSecret") }}
      key: password
{{- /* TLS ends at the ingress; Keycloak serves http and trusts X-Forwarded-* from it. */}}
- name: KC_HOSTNAME
  value: {{ printf "%s://%s" (ternary "https" "http" (eq (toString .Values.global.tls) "true")) (required "keycloak: set host (the public host, e.g. auth.<domain>)" .Values.host) | quote }}
- name: KC_HTTP_ENABLED
  value: "true"
- name: KC_PROXY_HEADERS
  value: xforwarded
- name: KC_HEALTH_ENABLED
  value: "true"
- name: KC_METRICS_ENABLED
  value: {{ .Values.metrics.enabled | quote }}
{{- end -}}
{{/* The only paths Keycloak writes (values.yaml securityContext): emptyDirs on a read-only root. */}}
{{- define "keycloak.volumes" -}}
- name: quarkus
  emptyDir:
    sizeLimit: {{ .Values.writableDirs.quarkusSize }}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.writableDirs.dataSize }}
{{- end -}}
{{- define "keycloak.volumeMounts" -}}
- name: quarkus
  mountPath: /opt/keycloak/lib/quarkus
- name: data
  mountPath: /opt/keycloak/data
{{- end -}}
{{/* Seeds the writable lib/quarkus with the image's build, which `start` then re-augments.
`cp -R`: `cp -a` fails (EPERM) preserving the root-owned emptyDir's own attributes. */}}
{{- define "keycloak.initContainers" -}}
- name: seed-quarkus
  image: {{ include "wd-lib.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["cp", "-R", "/opt/keycloak/lib/quarkus/.", "/seed/"]
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {cpu: 200m, memory: 64Mi}
  securityContext:
    {{- include "wd-lib.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: quarkus
      mountPath: /seed
{{- end -}}
