{{/*
Names, labels and the pieces every container shares. Every object carries the labels of
pgsidecar.labels; the StatefulSet selects its pods by pgsidecar.selectorLabels.
*/}}

{{- define "pgsidecar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pgsidecar.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The archive's name in the repository: config key `cluster`. */}}
{{- define "pgsidecar.cluster" -}}
{{- default (include "pgsidecar.fullname" .) .Values.cluster }}
{{- end }}

{{/* Labels of every object; call with (dict "ctx" $ "component" "database"). */}}
{{- define "pgsidecar.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pgsidecar.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: pgsidecar
{{- end }}

{{- define "pgsidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pgsidecar.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "pgsidecar.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pgsidecar.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pgsidecar.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "pgsidecar.postgresSecret" -}}
{{- default (printf "%s-postgres" (include "pgsidecar.fullname" .)) .Values.postgresql.auth.existingSecret }}
{{- end }}

{{/* The key of storage.azure.existingSecret that holds the credential of the chosen auth. */}}
{{- define "pgsidecar.storageSecretKey" -}}
{{- $defaults := dict "sas" "sas-token" "shared-key" "account-key" "connection-string" "connection-string" }}
{{- default (get $defaults .Values.storage.azure.auth) .Values.storage.azure.secretKey }}
{{- end }}

{{/* True (non-empty) when the Azure credential comes from a Secret. */}}
{{- define "pgsidecar.storageUsesSecret" -}}
{{- if and (eq .Values.storage.type "azure") (has .Values.storage.azure.auth (list "sas" "shared-key" "connection-string")) }}true{{ end }}
{{- end }}

{{/* True (non-empty) when the S3 access key pair comes from a Secret (auth static). */}}
{{- define "pgsidecar.s3UsesSecret" -}}
{{- if and (eq .Values.storage.type "s3") (eq .Values.storage.s3.auth "static") }}true{{ end }}
{{- end }}

{{/* True (non-empty) when a Secret's keys are mounted as files under /etc/pgsidecar/storage. */}}
{{- define "pgsidecar.storageSecretMounted" -}}
{{- if or (include "pgsidecar.s3UsesSecret" .) (and (include "pgsidecar.storageUsesSecret" .) (ne .Values.storage.azure.auth "connection-string")) }}true{{ end }}
{{- end }}

{{/*
The restricted Pod Security Standard, for every container: non-root uid 999, no privilege
escalation, no capabilities, the runtime's default seccomp profile. Call with
(dict "ctx" $ "readOnly" true).
*/}}
{{- define "pgsidecar.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .ctx.Values.securityContext.runAsUser }}
runAsGroup: {{ .ctx.Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .readOnly }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Paths inside the containers. One place, so the config and the mounts cannot disagree. */}}
{{- define "pgsidecar.dataMount" -}}/var/lib/postgresql/data{{- end }}
{{- define "pgsidecar.pgdata" -}}/var/lib/postgresql/data/pgdata{{- end }}
{{- define "pgsidecar.configFile" -}}/etc/pgsidecar/config/pgsidecar.yaml{{- end }}
{{- define "pgsidecar.socket" -}}/pgsidecar/run/agent.sock{{- end }}
{{- define "pgsidecar.walArchiver" -}}/pgsidecar/bin/wal-archiver{{- end }}

{{/*
Environment of the agent and restore-init: secrets from Secrets, never from values or the
ConfigMap. The agent's PostgreSQL role and password come from the same Secret as the
PostgreSQL container's POSTGRES_USER / POSTGRES_PASSWORD.
*/}}
{{- define "pgsidecar.agentEnv" -}}
# Also what `kubectl exec ... pgsidecar backup list` reads.
- name: PGSIDECAR_CONFIG
  value: {{ include "pgsidecar.configFile" . }}
- name: PGSIDECAR_POSTGRES_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "pgsidecar.postgresSecret" . }}
      key: POSTGRES_USER
      optional: true
- name: PGSIDECAR_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "pgsidecar.postgresSecret" . }}
      key: POSTGRES_PASSWORD
{{- if and (eq .Values.storage.type "azure") (eq .Values.storage.azure.auth "connection-string") }}
- name: PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING
  valueFrom:
    secretKeyRef:
      name: {{ .Values.storage.azure.existingSecret }}
      key: {{ include "pgsidecar.storageSecretKey" . }}
{{- end }}
{{- end }}

{{/* Mounts of the agent and restore-init besides the data volume. */}}
{{- define "pgsidecar.agentMounts" -}}
- name: config
  mountPath: /etc/pgsidecar/config
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if include "pgsidecar.storageSecretMounted" . }}
- name: storage-secret
  mountPath: /etc/pgsidecar/storage
  readOnly: true
{{- end }}
{{- if .Values.encryption.existingSecret }}
- name: encryption
  mountPath: /etc/pgsidecar/encryption
  readOnly: true
{{- end }}
{{- if eq .Values.storage.type "filesystem" }}
- name: repository
  mountPath: {{ .Values.storage.filesystem.path }}
{{- end }}
{{- end }}

{{/* Checks that stop a render with a message naming the value and what to do. */}}
{{- define "pgsidecar.validate" -}}
{{- if and (include "pgsidecar.storageUsesSecret" .) (not .Values.storage.azure.existingSecret) }}
{{- fail (printf "storage.azure.existingSecret is required when storage.azure.auth is %s: name an existing Secret holding the credential under the key %q (kubectl create secret generic NAME --from-file=%s=FILE)" .Values.storage.azure.auth (include "pgsidecar.storageSecretKey" .) (include "pgsidecar.storageSecretKey" .)) }}
{{- end }}
{{- if eq .Values.storage.type "s3" }}
{{- $s3 := .Values.storage.s3 }}
{{- if not $s3.bucket }}
{{- fail "storage.s3.bucket is required when storage.type is s3: name the bucket of the repository (create it first)" }}
{{- end }}
{{- if and (eq $s3.auth "static") (not $s3.existingSecret) }}
{{- fail (printf "storage.s3.existingSecret is required when storage.s3.auth is static: name an existing Secret holding the key pair under the keys %q and %q (kubectl create secret generic NAME --from-literal=%s=AKIA... --from-file=%s=FILE)" $s3.accessKeyIdKey $s3.secretAccessKeyKey $s3.accessKeyIdKey $s3.secretAccessKeyKey) }}
{{- end }}
{{- if and (eq $s3.auth "static") .Values.serviceAccount.awsRoleArn }}
{{- fail "serviceAccount.awsRoleArn (IRSA) and storage.s3.auth static exclude each other: keep the role and set storage.s3.auth to default, or drop the role to use the key pair of storage.s3.existingSecret" }}
{{- end }}
{{- if and $s3.kmsKeyId (ne $s3.serverSideEncryption "aws-kms") }}
{{- fail (printf "storage.s3.kmsKeyId is set but storage.s3.serverSideEncryption is %s: set serverSideEncryption to aws-kms, or drop kmsKeyId" $s3.serverSideEncryption) }}
{{- end }}
{{- end }}
{{- if and .Values.encryption.existingSecret (not (or .Values.encryption.publicKeys .Values.encryption.passphraseKey)) }}
{{- fail "encryption.existingSecret is set but neither encryption.publicKeys nor encryption.passphraseKey names a key of it: name the Secret's keys that hold the public keys or the passphrase" }}
{{- end }}
{{- if and (not .Values.encryption.existingSecret) (or .Values.encryption.publicKeys .Values.encryption.passphraseKey .Values.encryption.secretKeys .Values.encryption.secretKeyPassphraseKey) }}
{{- fail "encryption keys are named but encryption.existingSecret is empty: set it to the Secret that holds them" }}
{{- end }}
{{- $targets := 0 }}
{{- range $k := list "targetTime" "targetName" "targetLsn" "targetXid" }}
{{- if get $.Values.restore $k }}{{ $targets = add1 $targets }}{{ end }}
{{- end }}
{{- if .Values.restore.targetImmediate }}{{ $targets = add1 $targets }}{{ end }}
{{- if gt $targets 1 }}
{{- fail "restore: at most one of targetTime, targetName, targetLsn, targetXid and targetImmediate may be set (none replays to the end of the archive)" }}
{{- end }}
{{- range $k := list "archive_mode" "archive_command" "restore_command" }}
{{- if hasKey $.Values.postgresql.settings $k }}
{{- fail (printf "postgresql.settings.%s is set by the chart (it points PostgreSQL at the agent; restore_command is written by restore-init when it restores): remove it" $k) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The drill CronJob's image: drill.image, else the database pod's postgres image. */}}
{{- define "pgsidecar.drillImage" -}}
{{- if .Values.drill.image.repository }}
{{- printf "%s:%s" .Values.drill.image.repository (default .Values.postgresql.image.tag .Values.drill.image.tag) }}
{{- else }}
{{- printf "%s:%s" .Values.postgresql.image.repository .Values.postgresql.image.tag }}
{{- end }}
{{- end }}
