{{/* Names, labels and shared fragments of the Almanac chart. */}}

{{- define "almanac.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release> when it already says "almanac", else <release>-almanac; at most 52 chars
     so that suffixes such as -operator-webhook-tls stay within 63. */}}
{{- define "almanac.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "almanac.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "almanac.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: almanac
{{- end -}}

{{/* Selector labels of one component: include with (list $ "operator"). */}}
{{- define "almanac.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "almanac.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "almanac.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "almanac.operatorName" -}}
{{- printf "%s-operator" (include "almanac.fullname" .) -}}
{{- end -}}

{{- define "almanac.facadeName" -}}
{{- printf "%s-facade" (include "almanac.fullname" .) -}}
{{- end -}}

{{- define "almanac.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "almanac.operatorName" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The namespaces the operator schedules in, comma-separated; empty = cluster-wide. */}}
{{- define "almanac.watchNamespaces" -}}
{{- if .Values.rbac.namespacedOnly -}}
{{- .Release.Namespace -}}
{{- else -}}
{{- join "," .Values.watchNamespaces -}}
{{- end -}}
{{- end -}}

{{/*
Names of .Values.imagePullSecrets, comma-separated: the operator gives them to runs of
built-in payload types (ALMANAC_RUN_IMAGE_PULL_SECRETS), which use the same image.
*/}}
{{- define "almanac.pullSecretNames" -}}
{{- $names := list -}}
{{- range .Values.imagePullSecrets -}}
{{- $names = append $names .name -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}

{{/* The namespace the helm test's ScheduledJob goes to: one the operator watches. */}}
{{- define "almanac.testNamespace" -}}
{{- $watched := include "almanac.watchNamespaces" . -}}
{{- if or (not $watched) (has .Release.Namespace (splitList "," $watched)) -}}
{{- .Release.Namespace -}}
{{- else -}}
{{- first (splitList "," $watched) -}}
{{- end -}}
{{- end -}}

{{/* The operator's rules on namespaced objects: the same as config/rbac/operator.yaml
     (tests/unit/gitops/test_chart.py compares them). */}}
{{- define "almanac.operatorRules" -}}
- apiGroups: ["almanac.dev"]
  resources: ["scheduledjobs", "jobtemplates", "clusterjobtemplates"]
  verbs: ["get", "list", "watch"]
# patch: spec.suspend and its reason, once spec.pauseAfterFailures runs failed in a row.
- apiGroups: ["almanac.dev"]
  resources: ["scheduledjobs"]
  verbs: ["patch"]
- apiGroups: ["almanac.dev"]
  resources: ["scheduledjobs/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["almanac.dev"]
  resources: ["runrequests"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: ["almanac.dev"]
  resources: ["runrequests/status"]
  verbs: ["patch"]
# patch: a run held by a launch limit is created suspended and released with a patch.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete", "patch"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list"]
# A finished run's log tail is kept with its history row (ALMANAC_HISTORY_LOG_LINES).
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.notifications.webhookSecrets }}
# Webhook notifications read the Secret-valued URL or header they name, at each send
# (admission checked that the job's writer may read it: no confused deputy).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end }}
{{- end -}}

{{/* The restricted Pod Security Standard, for every pod of the chart. */}}
{{- define "almanac.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "almanac.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Settings shared by the operator and the facade: image, Kafka, Postgres, logs, traces. */}}
{{- define "almanac.sharedEnv" -}}
- name: ALMANAC_IMAGE
  value: {{ include "almanac.image" . | quote }}
- name: ALMANAC_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- with .Values.kafka.bootstrap }}
- name: ALMANAC_KAFKA_BOOTSTRAP
  value: {{ . | quote }}
{{- end }}
{{- with .Values.kafka.security }}
{{- if ne .protocol "PLAINTEXT" }}
- name: ALMANAC_KAFKA_SECURITY_PROTOCOL
  value: {{ .protocol | quote }}
{{- end }}
{{- if .saslMechanism }}
- name: ALMANAC_KAFKA_SASL_MECHANISM
  value: {{ .saslMechanism | quote }}
- name: ALMANAC_KAFKA_SASL_USERNAME
  value: {{ .username | quote }}
{{- end }}
{{- if .passwordSecret }}
- name: ALMANAC_KAFKA_SASL_PASSWORD_FILE
  value: /var/run/almanac/kafka-sasl/password
{{- end }}
{{- if .caSecret }}
- name: ALMANAC_KAFKA_SSL_CAFILE
  value: /var/run/almanac/kafka-tls/ca.crt
{{- end }}
{{- end }}
{{- with .Values.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.operator.httpAllowCidrs }}
- name: ALMANAC_HTTP_ALLOW_CIDRS
  value: {{ . | quote }}
{{- end }}
{{- if .Values.postgres.dsnSecret.name }}
- name: ALMANAC_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgres.dsnSecret.name }}
      key: {{ .Values.postgres.dsnSecret.key }}
{{- end }}
{{- end -}}

{{/* The Kafka Secrets of kafka.security, mounted into the operator and the facade. */}}
{{- define "almanac.kafkaMounts" -}}
{{- if .Values.kafka.security.passwordSecret }}
- name: kafka-sasl
  mountPath: /var/run/almanac/kafka-sasl
  readOnly: true
{{- end }}
{{- if .Values.kafka.security.caSecret }}
- name: kafka-tls
  mountPath: /var/run/almanac/kafka-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "almanac.kafkaVolumes" -}}
{{- with .Values.kafka.security.passwordSecret }}
- name: kafka-sasl
  secret:
    secretName: {{ . }}
    items: [{key: password, path: password}]
{{- end }}
{{- with .Values.kafka.security.caSecret }}
- name: kafka-tls
  secret:
    secretName: {{ . }}
    items: [{key: ca.crt, path: ca.crt}]
{{- end }}
{{- end -}}

{{- define "almanac.webhookServiceName" -}}
{{- include "almanac.operatorName" . -}}
{{- end -}}

{{- define "almanac.webhookSecretName" -}}
{{- printf "%s-webhook-tls" (include "almanac.operatorName" .) -}}
{{- end -}}

{{/* Fail early, with the fix, on combinations a JSON Schema cannot say clearly. */}}
{{- define "almanac.validate" -}}
{{- if and .Values.rbac.namespacedOnly .Values.watchNamespaces -}}
{{- fail "rbac.namespacedOnly watches the release namespace only: leave watchNamespaces empty, or set rbac.namespacedOnly=false to watch that list" -}}
{{- end -}}
{{- if and .Values.postgres.embedded .Values.postgres.dsnSecret.name -}}
{{- fail "postgres.embedded and postgres.dsnSecret.name are both set: use the DSN Secret (production) or the embedded database (one-replica trial), not both" -}}
{{- end -}}
{{- if and .Values.postgres.embedded (gt (int .Values.operator.replicas) 1) -}}
{{- fail (printf "postgres.embedded keeps history inside one pod and suits a one-replica trial only, but operator.replicas is %d: set operator.replicas=1, or give postgres.dsnSecret.name instead" (int .Values.operator.replicas)) -}}
{{- end -}}
{{- if and .Values.facade.gateway.allowAll .Values.facade.gateway.from -}}
{{- fail "facade.gateway.allowAll opens the facade port to every peer, which makes facade.gateway.from pointless: set allowAll=false to admit only those peers, or leave from empty" -}}
{{- end -}}
{{- end -}}

{{/* Cluster-scoped objects carry the release namespace: two releases of the same name in
     different namespaces must not share a ClusterRole or a webhook configuration. */}}
{{- define "almanac.clusterName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s-%s" $root.Release.Namespace (include "almanac.fullname" $root) (index . 1) | trunc 253 -}}
{{- end -}}

{{/* Checkov findings that are deliberate, explained where they are (hack/chart/lint.sh
     runs checkov on the rendered chart). */}}
{{- define "almanac.checkovSkips" -}}
checkov.io/skip1: CKV_K8S_11=No CPU limit on purpose - throttling delays the scheduler loop; requests are set
checkov.io/skip2: CKV_K8S_43=Digest pinning is offered (image.digest); the default is a tag for local images
checkov.io/skip3: CKV_K8S_15=IfNotPresent by default so images loaded into the node without a registry work; set image.pullPolicy to Always
checkov.io/skip4: CKV_K8S_38=This pod talks to the API server with its own least-privilege ServiceAccount
{{- end -}}

{{/* The tenant roles' rules (templates/tenant-roles.yaml). View: reading a namespace's
     Almanac objects. Edit: that, and writing the two a tenant owns. */}}
{{- define "almanac.tenantViewRules" -}}
- apiGroups: ["almanac.dev"]
  resources: ["scheduledjobs", "jobtemplates", "runrequests"]
  verbs: ["get", "list", "watch"]
{{- end -}}

{{- define "almanac.tenantEditRules" -}}
{{ include "almanac.tenantViewRules" . }}
- apiGroups: ["almanac.dev"]
  resources: ["scheduledjobs", "jobtemplates"]
  verbs: ["create", "update", "patch", "delete"]
{{- end -}}

{{/* The objects of facade.orgNamespaces as a YAML list (empty: none), for the facade's
     ALMANAC_API_NAMESPACE_DEFAULTS file. */}}
{{- define "almanac.orgNamespaceObjects" -}}
{{- $org := .Values.facade.orgNamespaces -}}
{{- $objects := list -}}
{{- with $org.resourceQuota }}
{{- $objects = append $objects (dict "apiVersion" "v1" "kind" "ResourceQuota" "metadata" (dict "name" "almanac-org-quota") "spec" (dict "hard" .)) -}}
{{- end }}
{{- with $org.limitRange }}
{{- $objects = append $objects (dict "apiVersion" "v1" "kind" "LimitRange" "metadata" (dict "name" "almanac-run-defaults") "spec" (dict "limits" .)) -}}
{{- end }}
{{- if $org.denyIngress }}
{{- $objects = append $objects (dict "apiVersion" "networking.k8s.io/v1" "kind" "NetworkPolicy" "metadata" (dict "name" "almanac-deny-ingress") "spec" (dict "podSelector" (dict) "policyTypes" (list "Ingress"))) -}}
{{- end }}
{{- if $objects }}{{ toYaml $objects }}{{ end -}}
{{- end -}}
