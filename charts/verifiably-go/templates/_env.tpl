{{- define "verifiably-go.env" -}}{{- end -}}

{{/* The config files go through a memory volume: the init step writes the demo password in. */}}
{{- define "verifiably-go.volumes" -}}
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
{{- end -}}
{{- define "verifiably-go.volumeMounts" -}}
- name: app-config
  mountPath: {{ .Values.appConfigPath }}
  readOnly: true
{{- end -}}

{{/*
Copies the rendered files and puts the password of the demo account (Secret
demoAccount.existingSecret, key password, mounted as a file) into backends.json's empty
demoAccount.password, JSON-escaped. The password never appears in a ConfigMap, the pod spec or
an environment variable.
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
{{- end -}}
