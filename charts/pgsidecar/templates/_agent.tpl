{{/*
The agent container: a native sidecar in initContainers (restartPolicy Always) or, with
agent.nativeSidecar=false, a plain container beside PostgreSQL. No readiness probe on purpose:
see statefulset.yaml.
*/}}
{{- define "pgsidecar.agentContainer" -}}
- name: agent
  image: {{ include "pgsidecar.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/opt/pgsidecar/bin/pgsidecar", "agent", "--config", {{ include "pgsidecar.configFile" . | quote }}]
  {{- if .Values.agent.nativeSidecar }}
  restartPolicy: Always
  {{- end }}
  env:
    {{- include "pgsidecar.agentEnv" . | nindent 4 }}
  ports:
    - name: metrics
      containerPort: {{ .Values.metrics.port }}
      protocol: TCP
  # /healthz answers from the agent's event loop and never looks at storage or PostgreSQL.
  startupProbe:
    httpGet:
      path: /healthz
      port: metrics
    periodSeconds: 2
    timeoutSeconds: 2
    failureThreshold: 60
  livenessProbe:
    httpGet:
      path: /healthz
      port: metrics
    periodSeconds: 10
    timeoutSeconds: 5
    failureThreshold: 6
  resources:
    {{- toYaml .Values.agent.resources | nindent 4 }}
  securityContext:
    {{- include "pgsidecar.containerSecurityContext" (dict "ctx" . "readOnly" true) | nindent 4 }}
  volumeMounts:
    # PGDATA read-only: the agent reads WAL segments and never writes there.
    - name: data
      mountPath: {{ include "pgsidecar.dataMount" . }}
      readOnly: true
    - name: pgsidecar
      mountPath: /pgsidecar
    # The admin socket (backups, dumps, deletes, other clusters): this container only.
    - name: agent-run
      mountPath: /run/pgsidecar
    {{- include "pgsidecar.agentMounts" . | nindent 4 }}
{{- end }}
