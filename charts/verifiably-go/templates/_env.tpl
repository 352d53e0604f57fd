{{/*
The app's container contract (waltid-facts "verifiably-go's container contract"): what the
users' deploy.sh `run` passes. WALTID_CATALOG_PATH / WALTID_ISSUER_SERVICE are left unset: they
serve a compose-only feature that restarts the issuer through docker.sock.
*/}}
{{- define "verifiably-go.publicUrl" -}}
{{- if .Values.app.publicUrl -}}
{{- .Values.app.publicUrl -}}
{{- else -}}
{{- printf "%s://%s" (ternary "https" "http" (eq (toString .Values.global.tls) "true")) (required "verifiably-go: set host (the app's public host, e.g. app.<domain>) or app.publicUrl" .Values.host) -}}
{{- end -}}
{{- end -}}

{{- define "verifiably-go.environment" -}}
{{- .Values.app.environment | default (ternary "production" "" (eq (toString .Values.global.profile) "prod")) -}}
{{- end -}}

{{- define "verifiably-go.env" -}}
{{- $secret := include "wd-lib.secretName" (list . .Values.existingSecret "existingSecret") -}}
- name: VERIFIABLY_ADAPTER
  value: {{ .Values.app.adapter | quote }}
- name: VERIFIABLY_ADDR
  value: {{ printf ":%v" .Values.port | quote }}
- name: VERIFIABLY_LOG_JSON
  value: {{ ternary "1" "0" .Values.app.logJson | quote }}
- name: VERIFIABLY_ROLES
  value: {{ .Values.app.roles | quote }}
- name: VERIFIABLY_STATE_DIR
  value: {{ .Values.state.mountPath | quote }}
- name: VERIFIABLY_PUBLIC_URL
  value: {{ include "verifiably-go.publicUrl" . | quote }}
- name: LIBRETRANSLATE_URL
  value: {{ .Values.app.libretranslateUrl | default (printf "http://%s-libretranslate:5000" .Release.Name) | quote }}
- name: VERIFIABLY_BACKENDS_FILE
  value: {{ printf "%s/backends.json" .Values.appConfigPath | quote }}
- name: VERIFIABLY_AUTH_PROVIDERS_FILE
  value: {{ printf "%s/auth-providers.json" .Values.appConfigPath | quote }}
{{- with include "verifiably-go.environment" . }}
- name: VERIFIABLY_ENV
  value: {{ . | quote }}
{{- end }}
{{- with .Values.app.trustedProxies }}
- name: VERIFIABLY_TRUSTED_PROXIES
  value: {{ . | quote }}
{{- end }}
- name: VERIFIABLY_ADMIN_USER
  value: {{ .Values.adminUser | quote }}
- name: VERIFIABLY_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: adminPassword
- name: VERIFIABLY_SESSION_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: sessionSecret
{{- with .Values.apiKeys.secretName }}
- name: VERIFIABLY_API_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: apiKeys
{{- end }}
{{- if .Values.database.enabled }}
{{- /* Kubernetes expands $(VERIFIABLY_DB_PASSWORD) from the variable above; no literal credential. */}}
- name: VERIFIABLY_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.database.existingSecret "database.existingSecret") }}
      key: password
{{- $tls := include "wd-lib.internalCA.dbParams" . }}
- name: VERIFIABLY_DATABASE_URL
  value: {{ printf "postgres://%s:$(VERIFIABLY_DB_PASSWORD)@%s:%v/%s%s" .Values.database.user .Values.database.host .Values.database.port .Values.database.name (ternary (printf "?%s" $tls) "" (ne $tls "")) | quote }}
{{- end }}
{{- if .Values.redis.enabled }}
{{- /* Kubernetes expands $(REDIS_PASSWORD) from the variable above; no literal credential. */}}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list . .Values.redis.existingSecret "redis.existingSecret") }}
      key: password
- name: VERIFIABLY_REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:%v/0" .Values.redis.host .Values.redis.port | quote }}
{{- end }}
{{- include "verifiably-go.otelEnv" . }}
{{- end -}}

{{/*
Sessions are per process without Redis (cmd/server buildSessionStore) and the stores are files
in the state dir without a database: refuse more than one replica or an HPA without Redis, and
without a database or a ReadWriteMany state volume.
*/}}
{{- define "verifiably-go.requireSharedState" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled -}}
{{- if not .Values.redis.enabled -}}
{{- fail "verifiably-go: replicaCount > 1 or autoscaling needs redis.enabled=true (VERIFIABLY_REDIS_URL): without Redis the app keeps sessions per process, so a second replica logs users out (waltid-facts, verifiably-go sessions)" -}}
{{- end -}}
{{- if not (or .Values.database.enabled (eq .Values.state.accessMode "ReadWriteMany")) -}}
{{- fail "verifiably-go: replicaCount > 1 or autoscaling needs the stores shared: database.enabled=true (VERIFIABLY_DATABASE_URL, Postgres) or a state dir on state.accessMode=ReadWriteMany with a state.storageClassName that supports it" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The config files go through a memory volume: the init step writes the demo password in. */}}
{{- define "verifiably-go.volumes" -}}
- name: state
  {{- if .Values.database.enabled }}
  emptyDir:
    sizeLimit: 64Mi
  {{- else }}
  persistentVolumeClaim:
    claimName: {{ include "wd-lib.fullname" . }}-state
  {{- end }}
- name: locales
  emptyDir:
    sizeLimit: {{ .Values.locales.sizeLimit }}
- name: app-config
  emptyDir:
    medium: Memory
    sizeLimit: 1Mi
- name: demo-account
  secret:
    secretName: {{ include "wd-lib.secretName" (list . .Values.demoAccount.existingSecret "demoAccount.existingSecret") }}
    defaultMode: 0400
    items:
      - key: password
        path: password
{{- if .Values.transit.enabled }}
- name: issuer-transit
  secret:
    secretName: {{ include "wd-lib.secretName" (list . .Values.transit.existingSecret "transit.existingSecret") }}
    defaultMode: 0400
    items:
      - key: issuerKey
        path: issuerKey
      - key: issuerDid
        path: issuerDid
{{- end }}
{{- end -}}
{{- define "verifiably-go.volumeMounts" -}}
- name: app-config
  mountPath: {{ .Values.appConfigPath }}
  readOnly: true
- name: state
  mountPath: {{ .Values.state.mountPath }}
- name: locales
  mountPath: {{ .Values.locales.mountPath }}
{{- end -}}

{{/*
Copies the rendered files and puts the password of the demo account (Secret
demoAccount.existingSecret, key password, mounted as a file) into backends.json's empty
demoAccount.password, JSON-escaped. The password never appears in a ConfigMap, the pod spec or
an environment variable.
With transit.enabled, the same step replaces backends.json's issuerDid with the Secret's
issuerDid and puts the Secret's issuerKey (walt.id's TSE key reference, the limited Vault token
inside; `wd-transit token issuer` writes both) before it: the app sends that key to the issuer,
which signs through Vault Transit. The step fails (the pod does not start) when either file is
not what wd-transit writes.
*/}}
{{- define "verifiably-go.initContainers" -}}
- name: config
  image: {{ printf "%s:%s" .Values.configInit.image.repository .Values.configInit.image.tag }}
  imagePullPolicy: {{ .Values.configInit.image.pullPolicy }}
  command: ["/bin/sh", "-ec"]
  args:
    - |
      cp {{ .Values.config.mountPath }}/* /config/
      json=$(sed 's/\\/\\\\/g; s/"/\\"/g' /demo-account/password)
      repl=$(printf '%s' "$json" | sed 's/[\\&|]/\\&/g')
      sed -i "s|\"password\": \"\"|\"password\": \"$repl\"|" /config/backends.json
      {{- if .Values.transit.enabled }}
      key=$(cat /issuer-transit/issuerKey)
      did=$(cat /issuer-transit/issuerDid)
      case "$key" in
        '{'*'"type":"tse"'*'}') ;;
        *) echo "config: issuerKey in Secret {{ .Values.transit.existingSecret }} is not a walt.id TSE key (run wd-transit token issuer --plan ...)" >&2; exit 1 ;;
      esac
      case "$did" in
        did:jwk:*) ;;
        *) echo "config: issuerDid in Secret {{ .Values.transit.existingSecret }} is not a did:jwk" >&2; exit 1 ;;
      esac
      if [ "$(printf '%s\n%s' "$key" "$did" | wc -l)" -ne 1 ]; then
        echo "config: issuerKey and issuerDid must be one line each" >&2; exit 1
      fi
      grep -q '"issuerDid": "' /config/backends.json || { echo "config: backends.json has no issuerDid to replace" >&2; exit 1; }
      krepl=$(printf '%s' "$key" | sed 's/[\\&|]/\\&/g')
      drepl=$(printf '%s' "$did" | sed 's/[\\&|]/\\&/g')
      sed -i "s|\"issuerDid\": \"[^\"]*\"|\"issuerKey\": $krepl, \"issuerDid\": \"$drepl\"|" /config/backends.json
      {{- end }}
  resources:
    {{- toYaml .Values.configInit.resources | nindent 4 }}
  securityContext:
    {{- include "wd-lib.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: config
      mountPath: {{ .Values.config.mountPath }}
      readOnly: true
    - name: app-config
      mountPath: /config
    - name: demo-account
      mountPath: /demo-account
      readOnly: true
    {{- if .Values.transit.enabled }}
    - name: issuer-transit
      mountPath: /issuer-transit
      readOnly: true
    {{- end }}
{{- end -}}
