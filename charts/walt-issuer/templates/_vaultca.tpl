{{/*
TLS to Vault (walt.id's TSE keys call Vault Transit): with vaultCA.configMap set (key ca.crt,
the CA of Vault's certificate), an init step of this image adds it to a copy of the JVM's
cacerts (keytool; `changeit` is the JDK's well-known cacerts password, not a secret) and
JAVA_TOOL_OPTIONS points the JVM at that copy: the JVM trusts no private CA by itself
(waltid-facts §2). Same file in walt-issuer and walt-wallet.
*/}}
{{- define "walt-issuer.javaToolOptions" -}}
{{- if .Values.vaultCA.configMap -}}
{{- printf "%s -Djavax.net.ssl.trustStore=/truststore/cacerts -Djavax.net.ssl.trustStorePassword=changeit" .Values.javaToolOptions -}}
{{- else -}}
{{- .Values.javaToolOptions -}}
{{- end -}}
{{- end -}}

{{- define "walt-issuer.vaultCA.volumes" -}}
{{- if .Values.vaultCA.configMap }}
- name: vault-ca
  configMap:
    name: {{ .Values.vaultCA.configMap }}
    items:
      - key: ca.crt
        path: ca.crt
- name: truststore
  emptyDir:
    medium: Memory
    sizeLimit: 4Mi
{{- end }}
{{- end -}}

{{- define "walt-issuer.vaultCA.volumeMounts" -}}
{{- if .Values.vaultCA.configMap }}
- name: truststore
  mountPath: /truststore
  readOnly: true
{{- end }}
{{- end -}}

{{- define "walt-issuer.vaultCA.initContainers" -}}
{{- if .Values.vaultCA.configMap }}
- name: vault-ca
  image: {{ include "wd-lib.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/sh", "-ec"]
  args:
    - |
      cp "$JAVA_HOME/lib/security/cacerts" /truststore/cacerts
      chmod u+w /truststore/cacerts
      keytool -importcert -noprompt -alias vault-ca -file /vault-ca/ca.crt -keystore /truststore/cacerts -storepass changeit
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    {{- include "wd-lib.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: vault-ca
      mountPath: /vault-ca
      readOnly: true
    - name: truststore
      mountPath: /truststore
{{- end }}
{{- end -}}
