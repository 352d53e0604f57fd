{{/*
The internal CA (issue 16 option 1; docs/runbooks/internal-ca.md). With global.internalCA.configMap
set — a ConfigMap with key ca.crt in the release's namespace (terraform/workloads creates
wd-internal-ca from the root `wd-secrets policies --apply --pki --pki-ca-out` wrote) — every pod of
wd-lib.deployment mounts it at /etc/wd-internal-ca (read-only, public certificate) and gets
SSL_CERT_DIR=/etc/wd-internal-ca:/etc/ssl/certs: Go's crypto/x509 (the app, root_unix.go) reads
the certificates of these directories IN ADDITION to the system bundle file, so the public roots
stay trusted (SSL_CERT_FILE would replace the bundle; /etc/ssl/certs is the default directory the
variable would otherwise drop). The JVM ignores both variables: walt-issuer and walt-wallet import the same
ConfigMap into a copy of their cacerts (their vaultCA.configMap, _vaultca.tpl; terraform/workloads
sets it to the same name).
*/}}
{{- define "wd-lib.internalCA.configMap" -}}
{{- ((.Values.global).internalCA).configMap | default "" -}}
{{- end -}}

{{- define "wd-lib.internalCA.env" -}}
{{- if include "wd-lib.internalCA.configMap" . }}
- name: SSL_CERT_DIR
  value: /etc/wd-internal-ca:/etc/ssl/certs
{{- end }}
{{- end -}}

{{- define "wd-lib.internalCA.volumes" -}}
{{- with include "wd-lib.internalCA.configMap" . }}
- name: wd-internal-ca
  configMap:
    name: {{ . }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end -}}

{{- define "wd-lib.internalCA.volumeMounts" -}}
{{- if include "wd-lib.internalCA.configMap" . }}
- name: wd-internal-ca
  mountPath: /etc/wd-internal-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/*
The TLS parameters of a PostgreSQL URL (libpq's and pgjdbc's alike) from a chart's
.Values.database: "sslmode=…&sslrootcert=…", each only when set; "" when neither is. A
sslrootcert under /etc/wd-internal-ca is the internal CA's root, which the pod mounts only with
global.internalCA.configMap set: the render is refused otherwise, naming the value.
*/}}
{{- define "wd-lib.internalCA.dbParams" -}}
{{- $db := .Values.database -}}
{{- if and $db.sslrootcert (hasPrefix "/etc/wd-internal-ca/" $db.sslrootcert) (not (include "wd-lib.internalCA.configMap" .)) -}}
{{- fail (printf "%s: database.sslrootcert=%s is the internal CA's root, which this pod mounts only with global.internalCA.configMap set (terraform/workloads internal_ca_pem_path; docs/runbooks/internal-ca.md)" .Chart.Name $db.sslrootcert) -}}
{{- end -}}
{{- $q := list -}}
{{- with $db.sslmode }}{{ $q = append $q (printf "sslmode=%s" .) }}{{ end -}}
{{- with $db.sslrootcert }}{{ $q = append $q (printf "sslrootcert=%s" .) }}{{ end -}}
{{- join "&" $q -}}
{{- end -}}
