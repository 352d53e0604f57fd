{{- define "redis.env" -}}{{- end -}}

{{/*
The server starts from the mounted redis.conf, which includes /run/redis/auth.conf: written at
start from the password Secret (mounted as a file) into a memory volume, so the password is in
neither the pod spec, an environment variable nor the process arguments.
*/}}
{{- define "redis.args" -}}
- /bin/sh
- -ec
- |
  printf 'requirepass "%s"\n' "$(cat /run/secrets/redis/password)" > /run/redis/auth.conf
  {{- if .Values.persistence.enabled }}
  exec redis-server {{ .Values.config.mountPath }}/redis.conf --save "" --appendonly yes
  {{- else }}
  exec redis-server {{ .Values.config.mountPath }}/redis.conf
  {{- end }}
{{- end -}}

{{- define "redis.volumes" -}}
- name: data
  {{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "wd-lib.fullname" . }}-data
  {{- else }}
  emptyDir:
    sizeLimit: 256Mi
  {{- end }}
- name: auth
  emptyDir:
    medium: Memory
    sizeLimit: 1Mi
- name: password
  secret:
    secretName: {{ include "wd-lib.secretName" (list . .Values.existingSecret "existingSecret") }}
    defaultMode: 0400
    items:
      - key: password
        path: password
{{- end -}}
{{- define "redis.volumeMounts" -}}
- name: data
  mountPath: /data
- name: auth
  mountPath: /run/redis
- name: password
  mountPath: /run/secrets/redis
  readOnly: true
{{- end -}}
{{- define "redis.initContainers" -}}{{- end -}}
