{{/*
wd-lib.deployment: the Deployment of a service chart. The chart defines <chart>.env,
<chart>.volumes, <chart>.volumeMounts and optionally <chart>.initContainers (each may render
nothing). Config files (.Values.config.files) are mounted from the chart's ConfigMap at
.Values.config.mountPath; a checksum annotation rolls the pods when they change.
*/}}
{{- define "wd-lib.deployment" -}}
{{- $name := .Chart.Name -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "wd-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "wd-lib.labels" . | nindent 4 }}
  {{- with .Values.checkovSkips }}
  annotations:
    {{- range $i, $s := . }}
    checkov.io/skip{{ add1 $i }}: {{ $s | quote }}
    {{- end }}
  {{- end }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 3
  {{- with .Values.strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "wd-lib.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "wd-lib.selectorLabels" . | nindent 8 }}
        app.kubernetes.io/part-of: {{ .Values.global.partOf | default "waltid" }}
      annotations:
        checksum/config: {{ include "wd-lib.configFiles" . | sha256sum }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "wd-lib.fullname" . }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext:
        {{- include "wd-lib.podSecurityContext" . | nindent 8 }}
      {{- with .Values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- $init := include (printf "%s.initContainers" $name) . | trim }}
      {{- if $init }}
      initContainers:
        {{- $init | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "wd-lib.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          {{- with .Values.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            {{- range (include "wd-lib.ports" . | fromYamlArray) }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
            {{- end }}
          {{- $env := include (printf "%s.env" $name) . | trim }}
          {{- $caEnv := include "wd-lib.internalCA.env" . | trim }}
          {{- if or $env $caEnv }}
          env:
            {{- with $env }}{{ . | nindent 12 }}{{ end }}
            {{- with $caEnv }}{{ . | nindent 12 }}{{ end }}
          {{- end }}
          {{- include "wd-lib.probes" . | nindent 10 }}
          resources:
            {{- required (printf "%s: set resources (requests and limits)" $name) .Values.resources | toYaml | nindent 12 }}
          securityContext:
            {{- include "wd-lib.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- $files := include "wd-lib.configFiles" . | fromYaml }}
            {{- if and $files .Values.config.subPath }}
            {{- /* one file each, so the rest of the directory stays visible (WSO2's conf/) */}}
            {{- range $file, $_ := $files }}
            - name: config
              mountPath: {{ printf "%s/%s" $.Values.config.mountPath $file }}
              subPath: {{ $file }}
              readOnly: true
            {{- end }}
            {{- else if $files }}
            - name: config
              mountPath: {{ .Values.config.mountPath }}
              readOnly: true
            {{- end }}
            {{- include (printf "%s.volumeMounts" $name) . | trim | nindent 12 }}
            {{- include "wd-lib.internalCA.volumeMounts" . | trim | nindent 12 }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ .Values.tmpSize | default "256Mi" }}
        {{- if include "wd-lib.configFiles" . | fromYaml }}
        - name: config
          configMap:
            name: {{ include "wd-lib.fullname" . }}-config
        {{- end }}
        {{- include (printf "%s.volumes" $name) . | trim | nindent 8 }}
        {{- include "wd-lib.internalCA.volumes" . | trim | nindent 8 }}
{{- end -}}

{{- define "wd-lib.configmap" -}}
{{- $files := include "wd-lib.configFiles" . | fromYaml -}}
{{- if $files }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "wd-lib.fullname" . }}-config
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "wd-lib.labels" . | nindent 4 }}
data:
  {{- range $file, $content := $files }}
  {{ $file }}: |
    {{- $content | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{- define "wd-lib.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "wd-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "wd-lib.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "wd-lib.selectorLabels" . | nindent 4 }}
  ports:
    {{- range (include "wd-lib.ports" . | fromYamlArray) }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
    {{- end }}
{{- end -}}

{{/* .Values.ports, or one `http` port: the rendered web.conf's webPort / .Values.port. */}}
{{- define "wd-lib.ports" -}}
{{- if .Values.ports -}}
{{- toYaml .Values.ports -}}
{{- else -}}
- name: http
  port: {{ include "wd-lib.webPort" . }}
{{- end -}}
{{- end -}}

{{/* PodDisruptionBudget when enabled and there is more than one replica to keep. */}}
{{- define "wd-lib.pdb" -}}
{{- if .Values.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "wd-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "wd-lib.labels" . | nindent 4 }}
spec:
  minAvailable: {{ .Values.pdb.minAvailable }}
  selector:
    matchLabels:
      {{- include "wd-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{- define "wd-lib.hpa" -}}
{{- if and .Values.autoscaling.enabled (not (include "wd-lib.keda.on" .)) }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "wd-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "wd-lib.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "wd-lib.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}

{{/*
Issuer and verifier keep sessions (and a random key) per process (waltid-facts §2): refuse more
than one replica, or an HPA, unless Redis persistence and the shared key Secret are configured.
*/}}
{{- define "wd-lib.requireSharedState" -}}
{{- $v := .ctx.Values -}}
{{- $multi := or (gt (int $v.replicaCount) 1) $v.autoscaling.enabled -}}
{{- if and $multi (not (and $v.persistence.redis.enabled $v.persistence.redis.existingSecret $v.existingSecret)) -}}
{{- fail (printf "%s: replicaCount > 1 or autoscaling needs persistence.redis.enabled=true with persistence.redis.existingSecret and the shared %s Secret (existingSecret): walt.id keeps sessions and a random %s per process, so a second replica breaks flows started on the first (waltid-facts §2)" .ctx.Chart.Name .key .key) -}}
{{- end -}}
{{- if $v.persistence.redis.enabled -}}
{{- $files := include "wd-lib.configFiles" .ctx | fromYaml -}}
{{- if not (hasKey $files "persistence.conf") -}}
{{- fail (printf "%s: persistence.redis.enabled=true but the config files have no persistence.conf; render them with wd-render --set persistence.redis.enabled=true and pass its umbrella values" .ctx.Chart.Name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
A service that must run as ONE pod: fail when replicaCount > 1 or autoscaling is enabled. `why`
says what a second pod would break; docs/scaling.md holds the verdict per service.
*/}}
{{- define "wd-lib.singleReplica" -}}
{{- $v := .ctx.Values -}}
{{- if or (gt (int $v.replicaCount) 1) $v.autoscaling.enabled -}}
{{- fail (printf "%s: one replica only (replicaCount 1, autoscaling.enabled false): %s (docs/scaling.md)" .ctx.Chart.Name .why) -}}
{{- end -}}
{{- end -}}
