#!/usr/bin/env bash
# Make sure the servers the test suite uses answer (start them if installed): Redis on 127.0.0.1:6379 and
# PostgreSQL on 127.0.0.1:5432.
set -uo pipefail
if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if command -v redis-server >/dev/null; then
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' >/dev/null
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
  fi
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 \
  || echo "services: Redis is not reachable on 127.0.0.1:6379; the Redis tests will be skipped" >&2
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then exit 0; fi
if [[ -d /etc/postgresql ]] && command -v pg_ctlcluster >/dev/null; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done
fi
echo "services: PostgreSQL is not reachable on 127.0.0.1:5432; the PostgreSQL tests will be skipped" >&2
exit 0
