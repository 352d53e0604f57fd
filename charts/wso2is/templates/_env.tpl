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
- name: database
  emptyDir:
    sizeLimit: {{ .Values.h2.sizeLimit }}
{{- end -}}
{{- define "wso2is.volumeMounts" -}}
- name: security
  mountPath: {{ .Values.home }}/repository/resources/security
- name: database
  mountPath: {{ .Values.home }}/repository/database
{{- end -}}

{{/*
The shipped keystores use the password wso2carbon; deployment.toml names the password from the
Secret, so a copy of the security directory is re-keyed to it before the server starts.
`cp -R`, not `cp -a`: preserving the attributes of the emptyDir's root (owned by root) fails
with EPERM for a non-root user and would stop the pod.
(Not verified on a cluster: whether 7.0.0 ships JKS or PKCS12 stores, both are handled.)
*/}}
{{- define "wso2is.initContainers" -}}
- name: rekey-keystores
  image: {{ include "wd-lib.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/sh", "-ec"]
  args:
    - |
      cp -R {{ .Values.home }}/repository/resources/security/. /security/
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
{{/*
The pack's embedded H2 databases (repository/database) are created with wso2carbon/wso2carbon
and H2 refuses another password; deployment.toml names the Secret's dbPassword. A copy of the
directory is re-keyed with H2's own Shell (ALTER USER) before the server starts, and mounted in
its place (an emptyDir: it survives container restarts, like the pod's state before).
*/}}
- name: rekey-h2
  image: {{ include "wd-lib.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/sh", "-ec"]
  args:
    - |
      cp -R {{ .Values.home }}/repository/database/. /database/
      jar=$(ls {{ .Values.home }}/repository/components/plugins/h2*.jar 2>/dev/null | head -n1)
      [ -n "$jar" ] || { echo "rekey-h2: no H2 jar under repository/components/plugins" >&2; exit 1; }
      for db in WSO2IDENTITY_DB WSO2SHARED_DB; do
        [ -f "/database/$db.mv.db" ] || { echo "rekey-h2: the image has no $db.mv.db" >&2; exit 1; }
        java -cp "$jar" org.h2.tools.Shell -url "jdbc:h2:/database/$db" -user wso2carbon -password wso2carbon \
          -sql "ALTER USER wso2carbon SET PASSWORD '$WSO2_DB_PASSWORD'"
      done
  env:
    - name: JAVA_TOOL_OPTIONS
      value: "-Xmx96m"
    - name: WSO2_DB_PASSWORD
      valueFrom:
        secretKeyRef:
          name: {{ include "wd-lib.secretName" (list . .Values.existingSecret "existingSecret") }}
          key: dbPassword
  resources:
    requests: {cpu: 50m, memory: 128Mi}
    limits: {cpu: 500m, memory: 256Mi}
  securityContext:
    {{- include "wd-lib.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: database
      mountPath: /database
{{- end -}}
