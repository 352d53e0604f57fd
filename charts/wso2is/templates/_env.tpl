{{- define "wso2is.env" -}}
- name: JAVA_TOOL_OPTIONS
  value: {{ .Values.javaToolOptions | quote }}
{{- range $env, $key := dict "WSO2_ADMIN_PASSWORD" "adminPassword" "WSO2_DB_PASSWORD" "dbPassword" "WSO2_KEYSTORE_PASSWORD" "keystorePassword" }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ include "wd-lib.secretName" (list $ $.Values.existingSecret "existingSecret") }}
      key: {{ $key }}
{{- end }}
{{- end -}}

{{- define "wso2is.volumes" -}}
- name: security
  emptyDir:
    sizeLimit: 16Mi
{{- end -}}
{{- define "wso2is.volumeMounts" -}}
- name: security
  mountPath: {{ .Values.home }}/repository/resources/security
{{- end -}}

{{/*
The shipped keystores use the password wso2carbon; deployment.toml names the password from the
Secret, so a copy of the security directory is re-keyed to it before the server starts.
(Not verified on a cluster: whether 7.0.0 ships JKS or PKCS12 stores, both are handled.)
*/}}
{{- define "wso2is.initContainers" -}}
- name: rekey-keystores
  image: {{ include "wd-lib.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/sh", "-ec"]
  args:
    - |
      cp -a {{ .Values.home }}/repository/resources/security/. /security/
      cd /security
      for f in wso2carbon.jks wso2carbon.p12 client-truststore.jks client-truststore.p12; do
        [ -f "$f" ] || continue
        keytool -storepasswd -keystore "$f" -storepass wso2carbon -new "$WSO2_KEYSTORE_PASSWORD"
        case "$f" in
          wso2carbon.jks) keytool -keypasswd -keystore "$f" -alias wso2carbon -storepass "$WSO2_KEYSTORE_PASSWORD" -keypass wso2carbon -new "$WSO2_KEYSTORE_PASSWORD" ;;
        esac
      done
  env:
    - name: WSO2_KEYSTORE_PASSWORD
      valueFrom:
        secretKeyRef:
          name: {{ include "wd-lib.secretName" (list . .Values.existingSecret "existingSecret") }}
          key: keystorePassword
  resources:
    requests: {cpu: 50m, memory: 128Mi}
    limits: {cpu: 500m, memory: 256Mi}
  securityContext:
    {{- include "wd-lib.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: security
      mountPath: /security
{{- end -}}
