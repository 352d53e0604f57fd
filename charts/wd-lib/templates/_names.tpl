{{/* Names and labels. */}}
{{- define "wd-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<chart>, or fullnameOverride. */}}
{{- define "wd-lib.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "wd-lib.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "wd-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wd-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "wd-lib.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "wd-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ .Values.global.partOf | default "waltid" }}
{{- end -}}

{{/* The image reference; the tag is required (the earlier charts shipped one that did not exist). */}}
{{- define "wd-lib.image" -}}
{{- $tag := required (printf "%s: set image.tag (a version that exists in %s)" .Chart.Name .Values.image.repository) .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The name of a Secret the chart consumes: fails with the value to set when it is empty. */}}
{{- define "wd-lib.secretName" -}}
{{- $ctx := index . 0 -}}{{- $value := index . 1 -}}{{- $path := index . 2 -}}
{{- required (printf "%s: set %s to the name of an existing Secret (see the chart README for its keys)" $ctx.Chart.Name $path) $value -}}
{{- end -}}
