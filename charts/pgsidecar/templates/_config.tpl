{{/* The agent's configuration as generated from the values, before agent.config is merged over it. */}}
{{- define "pgsidecar.agentConfig" -}}
{{- $v := .Values }}
{{- $enc := $v.encryption }}
cluster: {{ include "pgsidecar.cluster" . | quote }}
pgdata: {{ include "pgsidecar.pgdata" . }}
socket: {{ include "pgsidecar.socket" . }}
http:
  # Administration (backups, dumps, deletes): in the agent container only, never in /pgsidecar.
  admin-socket: /run/pgsidecar/admin.sock
postgres:
  # Same pod, same network namespace. Role and password: environment, from the Secret.
  host: 127.0.0.1
  port: {{ $v.postgresql.port }}
storage:
  {{- if eq $v.storage.type "filesystem" }}
  type: fs
  path: {{ $v.storage.filesystem.path }}
  {{- else }}
  type: {{ $v.storage.type }}
  {{- end }}
  {{- with $v.storage.prefix }}
  prefix: {{ . | quote }}
  {{- end }}
  {{- if eq $v.storage.type "azure" }}
  azure:
    auth: {{ $v.storage.azure.auth }}
    container: {{ $v.storage.azure.container | quote }}
    {{- with $v.storage.azure.account }}
    account: {{ . | quote }}
    {{- end }}
    {{- with $v.storage.azure.endpoint }}
    endpoint: {{ . | quote }}
    {{- end }}
    {{- if eq $v.storage.azure.auth "sas" }}
    sas-token-file: /etc/pgsidecar/storage/{{ include "pgsidecar.storageSecretKey" . }}
    {{- else if eq $v.storage.azure.auth "shared-key" }}
    key-file: /etc/pgsidecar/storage/{{ include "pgsidecar.storageSecretKey" . }}
    {{- end }}
  {{- end }}
  {{- if eq $v.storage.type "s3" }}
  {{- $s3 := $v.storage.s3 }}
  s3:
    bucket: {{ $s3.bucket | quote }}
    {{- with $s3.endpoint }}
    endpoint: {{ . | quote }}
    {{- end }}
    {{- with $s3.region }}
    region: {{ . | quote }}
    {{- end }}
    path-style: {{ $s3.pathStyle }}
    auth: {{ $s3.auth }}
    {{- if eq $s3.auth "static" }}
    # The key pair: files of the Secret storage.s3.existingSecret, never in this ConfigMap.
    access-key-id-file: /etc/pgsidecar/storage/{{ $s3.accessKeyIdKey }}
    secret-access-key-file: /etc/pgsidecar/storage/{{ $s3.secretAccessKeyKey }}
    {{- end }}
    server-side-encryption: {{ $s3.serverSideEncryption }}
    {{- with $s3.kmsKeyId }}
    kms-key-id: {{ . | quote }}
    {{- end }}
    {{- with $s3.storageClass }}
    storage-class: {{ . | quote }}
    {{- end }}
  {{- end }}
compression:
  algorithm: {{ $v.compression.algorithm }}
  level: {{ $v.compression.level }}
wal:
  compression-level: {{ $v.compression.walLevel }}
{{- if $enc.existingSecret }}
encryption:
  {{- with $enc.publicKeys }}
  public-keys:
    {{- range . }}
    - /etc/pgsidecar/encryption/{{ . }}
    {{- end }}
  {{- end }}
  {{- with $enc.passphraseKey }}
  passphrase-file: /etc/pgsidecar/encryption/{{ . }}
  {{- end }}
  {{- with $enc.secretKeys }}
  secret-keys:
    {{- range . }}
    - /etc/pgsidecar/encryption/{{ . }}
    {{- end }}
  {{- end }}
  {{- with $enc.secretKeyPassphraseKey }}
  secret-key-passphrase-file: /etc/pgsidecar/encryption/{{ . }}
  {{- end }}
{{- end }}
schedule:
  timezone: {{ $v.scheduleTimezone | quote }}
  {{- with $v.backup.schedule }}
  base-backup: {{ . | quote }}
  {{- end }}
  {{- with $v.dump.schedule }}
  dump: {{ . | quote }}
  {{- end }}
  {{- with $v.retention.schedule }}
  retention: {{ . | quote }}
  {{- end }}
  {{- with $v.verify.schedule }}
  verify: {{ . | quote }}
  {{- end }}
retention:
  orphan-age: {{ $v.retention.orphanAge | quote }}
  {{- range $key, $k := dict "base-backups" $v.retention.baseBackups "dumps" $v.retention.dumps }}
  {{ $key }}:
    {{- if $k.keepNewest }}
    keep-newest: {{ $k.keepNewest }}
    {{- end }}
    {{- with $k.window }}
    window: {{ . | quote }}
    {{- end }}
    gfs:
      daily: {{ $k.gfs.daily | default 0 }}
      weekly: {{ $k.gfs.weekly | default 0 }}
      monthly: {{ $k.gfs.monthly | default 0 }}
      yearly: {{ $k.gfs.yearly | default 0 }}
    {{- with $k.tier }}
    {{- if or .daily .weekly .monthly .yearly }}
    tier:
      {{- range $class := list "daily" "weekly" "monthly" "yearly" }}
      {{- with index $k.tier $class }}
      {{ $class }}: {{ . | quote }}
      {{- end }}
      {{- end }}
    {{- end }}
    {{- end }}
  {{- end }}
verify:
  work-dir: {{ $v.verify.workDir | quote }}
{{- if or $v.dump.include $v.dump.exclude }}
dump:
  {{- with $v.dump.include }}
  include: {{ toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.dump.exclude }}
  exclude: {{ toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
metrics:
  port: {{ $v.metrics.port }}
log:
  format: {{ $v.log.format }}
restore:
  enabled: {{ $v.restore.enabled }}
  backup: {{ $v.restore.backup | quote }}
  {{- with $v.restore.targetTime }}
  target-time: {{ . | quote }}
  {{- end }}
  {{- with $v.restore.targetName }}
  target-name: {{ . | quote }}
  {{- end }}
  {{- with $v.restore.targetLsn }}
  target-lsn: {{ . | quote }}
  {{- end }}
  {{- with $v.restore.targetXid }}
  target-xid: {{ . | quote }}
  {{- end }}
  {{- if $v.restore.targetImmediate }}
  target-immediate: true
  {{- end }}
  {{- if $v.restore.targetExclusive }}
  target-exclusive: true
  {{- end }}
  target-action: {{ $v.restore.targetAction }}
  target-timeline: {{ $v.restore.targetTimeline | quote }}
  {{- with $v.restore.fromCluster }}
  from-cluster: {{ . | quote }}
  {{- end }}
  # restore_command's client as the PostgreSQL container sees it (it finds the agent's socket
  # through PGSIDECAR_SOCKET in that container's environment).
  wal-archiver: {{ include "pgsidecar.walArchiver" . }}
{{- end }}
