{{- define "airlock.fullname" -}}airlock{{- end -}}
{{- define "airlock.labels" -}}
app.kubernetes.io/name: airlock
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "airlock.selector" -}}
app.kubernetes.io/name: airlock
app.kubernetes.io/component: controller
{{- end -}}
