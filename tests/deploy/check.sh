#!/usr/bin/env bash
# Static checks of the deployment artifacts (deploy/Dockerfile, compose.yaml, k8s/, systemd/):
# YAML parses, kustomize renders (kubectl, when installed), required fields, wsgate
# --check-config on every shipped config, systemd-analyze verify, compose and Dockerfile
# references. Bounded (each external tool has a timeout; the whole run well under 60 s).
#   tests/deploy/check.sh [WSGATE_BINARY]      default build/gateway/wsgate (skipped if absent)
# Last line: "deploy-checks: N passed, M failed"; exit 0 when M is 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
  echo "deploy-checks: python3-yaml missing (tools/install-deps.sh installs it)"
  echo "deploy-checks: 0 passed, 1 failed"
  exit 1
fi
exec timeout 120 /usr/bin/python3 tests/deploy/check_deploy.py "${1:-build/gateway/wsgate}"
