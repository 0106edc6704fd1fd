#!/usr/bin/env bash
# Self-signed certificate for local TLS listeners (demo, browser test): EC P-256, 30 days,
# subjectAltName DNS:localhost, IP:127.0.0.1, IP:::1. Idempotent: an existing pair is kept.
# Usage: tools/gen-cert.sh DIR   -> DIR/cert.pem, DIR/key.pem
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
cert="$dir/cert.pem"
key="$dir/key.pem"

if [[ -s "$cert" && -s "$key" ]] && openssl x509 -checkend 86400 -noout -in "$cert" >/dev/null 2>&1; then
  echo "gen-cert: keeping $cert and $key"
  exit 0
fi
command -v openssl >/dev/null || { echo "gen-cert: openssl not found (apt-get install -y openssl)" >&2; exit 1; }
mkdir -p "$dir"

# Write both to temporary names first so an interrupted run never leaves half a pair behind.
tmp_cert=$(mktemp "$dir/.cert.XXXXXX")
tmp_key=$(mktemp "$dir/.key.XXXXXX")
trap 'rm -f "$tmp_cert" "$tmp_key"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$tmp_key" -out "$tmp_cert" -days 30 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
  -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" 2>/dev/null
chmod 600 "$tmp_key"
chmod 644 "$tmp_cert"
mv -f "$tmp_key" "$key"
mv -f "$tmp_cert" "$cert"
echo "gen-cert: wrote $cert and $key (localhost, 127.0.0.1, ::1; 30 days)"
