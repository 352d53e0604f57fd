{{/* Labels of every policy. */}}
{{- define "wd-policies.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: waltid
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* Kyverno's own annotations: the version the policies were written for (Chart.yaml appVersion). */}}
{{- define "wd-policies.annotations" -}}
policies.kyverno.io/subject: Pod
kyverno.io/kyverno-version: {{ trimPrefix "v" .Chart.AppVersion | quote }}
kyverno.io/kubernetes-version: "1.30"
{{- end }}

{{/* The values every policy reads, checked once: a typo must not quietly weaken a policy. */}}
{{- define "wd-policies.validate" -}}
{{- if not (has .Values.validationFailureAction (list "Audit" "Enforce")) }}
{{- fail (printf "wd-policies: validationFailureAction is %q; set Audit (admit and report) or Enforce (reject)" .Values.validationFailureAction) }}
{{- end }}
{{- if not (has .Values.failurePolicy (list "Fail" "Ignore")) }}
{{- fail (printf "wd-policies: failurePolicy is %q; set Fail (reject while Kyverno is down) or Ignore (admit)" .Values.failurePolicy) }}
{{- end }}
{{- if not .Values.namespaces }}
{{- fail "wd-policies: namespaces is empty; list the namespaces the policies judge (the scenario's: waltid)" }}
{{- end }}
{{- end }}

{{/* spec fields every policy shares (Kyverno 1.12: validationFailureAction per policy). */}}
{{- define "wd-policies.spec" -}}
validationFailureAction: {{ .Values.validationFailureAction }}
failurePolicy: {{ .Values.failurePolicy }}
{{- end }}

{{/* Pods in the scenario's namespaces; Kyverno generates the same rule for their controllers
     (Deployment, StatefulSet, Job, CronJob, ...: "autogen"), so a bad Deployment is rejected
     at `helm install`, not only its pods later. */}}
{{- define "wd-policies.match" -}}
match:
  any:
    - resources:
        kinds: [Pod]
        namespaces: {{ toJson .Values.namespaces }}
{{- end }}

{{/* A foreach over every container reads request.object, which is empty on DELETE. */}}
{{- define "wd-policies.notDelete" -}}
preconditions:
  all:
    - key: {{ printf "{{ request.operation || 'BACKGROUND' }}" | quote }}
      operator: NotEquals
      value: DELETE
{{- end }}

{{/* Every container of a pod: JMESPath over the admission request (Kyverno foreach list). */}}
{{- define "wd-policies.allContainers" -}}
request.object.spec.[ephemeralContainers, initContainers, containers][]
{{- end }}
