#!/usr/bin/env bash
# Make sure the PostgreSQL server the test suite uses answers on 127.0.0.1:5432 (start it if it is installed).
set -uo pipefail
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then exit 0; fi
if [[ -d /etc/postgresql ]] && command -v pg_ctlcluster >/dev/null; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done
fi
echo "services: PostgreSQL is not reachable on 127.0.0.1:5432; the PostgreSQL tests will be skipped" >&2
exit 0
