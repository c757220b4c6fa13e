#!/usr/bin/env bash
# Writes dashboards/prometheusrule.yaml from dashboards/alerts.yml (the one source): the same
# groups under a monitoring.coreos.com/v1 PrometheusRule. AlertRulesTest fails when the two differ.
set -euo pipefail
cd "$(dirname "$0")"
{
  cat <<'HEADER'
# Generated from dashboards/alerts.yml by dashboards/generate-prometheusrule.sh: do not edit.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: pgsidecar
  labels:
    app.kubernetes.io/name: pgsidecar
    app.kubernetes.io/component: alert-rules
spec:
HEADER
  # Indent every non-empty line by two spaces so the groups land under spec.
  sed 's/^./  &/' alerts.yml
} > prometheusrule.yaml
