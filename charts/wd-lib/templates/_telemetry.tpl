{{/*
OpenTelemetry (issue 16 option 2; terraform/platform opentelemetry_enabled installs the collector).
On when .Values.global.otel.enabled (the umbrella sets global.otel: the collector's Service and
ports, one home) and the chart's own otel.enabled is not false. A chart installed alone has no
global.otel: off.
*/}}
{{- define "wd-lib.otel.on" -}}
{{- $g := (.Values.global | default dict).otel | default dict -}}
{{- if and $g.enabled (ne (toString ((.Values.otel | default dict).enabled)) "false") -}}true{{- end -}}
{{- end -}}

{{/* The collector's OTLP/HTTP base URL (the app's exporter and the Java agent post to <url>/v1/<signal>). */}}
{{- define "wd-lib.otel.httpEndpoint" -}}
{{- $c := required "global.otel.collector is required with global.otel.enabled (the umbrella's values.yaml)" .Values.global.otel.collector -}}
{{- printf "http://%s.%s.svc:%v" (required "global.otel.collector.service" $c.service) (required "global.otel.collector.namespace" $c.namespace) (required "global.otel.collector.httpPort" $c.httpPort) -}}
{{- end -}}

{{/* service.name of this chart's telemetry: otel.serviceName, else the release-qualified chart name. */}}
{{- define "wd-lib.otel.serviceName" -}}
{{- (.Values.otel | default dict).serviceName | default (include "wd-lib.fullname" .) -}}
{{- end -}}

{{/*
The OpenTelemetry Java agent for a walt.id JVM (waltid-facts §2: the images honour
JAVA_TOOL_OPTIONS, not JAVA_OPTS). An init container copies the agent jar from
global.otel.javaAgent.image (the operator's autoinstrumentation-java image: /javaagent.jar on busybox)
into an emptyDir; it runs with the chart's restricted security context like every container
(no mutating webhook: the pod spec rendered here is the one that runs). OTLP over HTTP to the
collector (traces and metrics; logs stay on stdout); traces sampled at global.otel.sampleRate
(parent-based).
*/}}
{{- define "wd-lib.otel.javaAgentOption" -}}
{{- if include "wd-lib.otel.on" . }} -javaagent:/otel-agent/javaagent.jar{{ end -}}
{{- end -}}

{{- define "wd-lib.otel.javaEnv" -}}
{{- if include "wd-lib.otel.on" . }}
- name: OTEL_SERVICE_NAME
  value: {{ include "wd-lib.otel.serviceName" . | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: http/protobuf
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ include "wd-lib.otel.httpEndpoint" . | quote }}
- name: OTEL_TRACES_SAMPLER
  value: parentbased_traceidratio
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .Values.global.otel.sampleRate | toString | quote }}
- name: OTEL_METRICS_EXPORTER
  value: otlp
{{- /* logs stay on stdout -> Promtail (which masks secrets, docs/observability.md): the agent's
log bridge would ship records around that mask */}}
- name: OTEL_LOGS_EXPORTER
  value: none
{{- end }}
{{- end -}}

{{- define "wd-lib.otel.javaAgentInitContainer" -}}
{{- if include "wd-lib.otel.on" . }}
{{- $a := required "global.otel.javaAgent (image, resources) is required with global.otel.enabled (the umbrella's values.yaml)" .Values.global.otel.javaAgent }}
- name: otel-agent
  image: {{ printf "%s:%s" $a.image.repository $a.image.tag }}
  imagePullPolicy: {{ $a.image.pullPolicy | default "IfNotPresent" }}
  command: ["cp", "/javaagent.jar", "/otel-agent/javaagent.jar"]
  resources:
    {{- toYaml $a.resources | nindent 4 }}
  securityContext:
    {{- include "wd-lib.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: otel-agent
      mountPath: /otel-agent
{{- end }}
{{- end -}}

{{- define "wd-lib.otel.javaAgentVolume" -}}
{{- if include "wd-lib.otel.on" . }}
- name: otel-agent
  emptyDir:
    sizeLimit: 64Mi
{{- end }}
{{- end -}}

{{- define "wd-lib.otel.javaAgentMount" -}}
{{- if include "wd-lib.otel.on" . }}
- name: otel-agent
  mountPath: /otel-agent
  readOnly: true
{{- end }}
{{- end -}}
