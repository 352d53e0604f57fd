{{- define "libretranslate.env" -}}
- name: LT_LOAD_ONLY
  value: {{ .Values.languages | quote }}
- name: LT_HOST
  value: "0.0.0.0"
- name: LT_PORT
  value: {{ include "wd-lib.webPort" . | quote }}
{{- end -}}
{{- define "libretranslate.volumes" -}}
- name: models
  persistentVolumeClaim:
    claimName: {{ include "wd-lib.fullname" . }}-models
{{- range $i, $d := .Values.writableDirs }}
- name: {{ printf "writable-%d" $i }}
  emptyDir:
    sizeLimit: 64Mi
{{- end }}
{{- end -}}
{{- define "libretranslate.volumeMounts" -}}
- name: models
  mountPath: {{ .Values.models.mountPath }}
{{- range $i, $d := .Values.writableDirs }}
- name: {{ printf "writable-%d" $i }}
  mountPath: {{ $d }}
{{- end }}
{{- end -}}
{{- define "libretranslate.initContainers" -}}{{- end -}}
