{{/* Pod and container security contexts (restricted Pod Security Standard). */}}
{{- define "wd-lib.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup | default .Values.securityContext.runAsUser }}
fsGroup: {{ .Values.securityContext.fsGroup | default .Values.securityContext.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "wd-lib.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: {{ .Values.securityContext.readOnlyRootFilesystem }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "wd-lib.serviceaccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "wd-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "wd-lib.labels" . | nindent 4 }}
automountServiceAccountToken: false
{{- end -}}
