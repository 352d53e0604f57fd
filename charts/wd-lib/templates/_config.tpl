{{/*
The config files a service mounts: .Values.config.files when set (wd-render's umbrella values),
else the chart's files/config/* (generated from the same templates by `make chart-files`,
checked for staleness by the chart tests). One source: config/templates/. With
persistence.redis.enabled, files/config-redis/* (what wd-render renders differently with
--set persistence.redis.enabled=true: persistence.conf, _features.conf) replace them.
Returns YAML of {file name: content}.
*/}}
{{- define "wd-lib.configFiles" -}}
{{- $files := dict -}}
{{- if .Values.config.files -}}
{{- $files = .Values.config.files -}}
{{- else -}}
{{- range $path, $_ := .Files.Glob "files/config/*" -}}
{{- $_ := set $files (base $path) ($.Files.Get $path) -}}
{{- end -}}
{{- if ((.Values.persistence | default dict).redis | default dict).enabled -}}
{{- range $path, $_ := .Files.Glob "files/config-redis/*" -}}
{{- $_ := set $files (base $path) ($.Files.Get $path) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}

{{/* The HTTP port: webPort of the rendered web.conf (waltid-facts §2), else .Values.port. */}}
{{- define "wd-lib.webPort" -}}
{{- $files := include "wd-lib.configFiles" . | fromYaml -}}
{{- $web := index $files "web.conf" | default "" -}}
{{- $m := regexFind "webPort\\s*=\\s*\"?[0-9]+" $web -}}
{{- if $m -}}{{ regexFind "[0-9]+" $m }}{{- else -}}{{ .Values.port }}{{- end -}}
{{- end -}}
