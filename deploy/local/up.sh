#!/usr/bin/env bash
# Start the local Gendan infrastructure (PostgreSQL + Kafka), idempotently.
# Progress goes to stderr; stdout carries only the env lines, so
#   deploy/local/up.sh > .env.local        or   export $(deploy/local/up.sh)
# both work.
#
# Env (optional): PGPORT_LOCAL (5432), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

PGPORT_LOCAL="${PGPORT_LOCAL:-5432}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
export PGPORT_LOCAL KAFKA_PORT

start=$SECONDS
"${HERE}/postgres.sh" start >&2 || { echo "up.sh: PostgreSQL failed to start" >&2; exit 1; }
"${HERE}/kafka.sh" start >&2    || { echo "up.sh: Kafka failed to start" >&2; exit 1; }
echo "up.sh: local infrastructure ready in $((SECONDS - start))s. Environment:" >&2

echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT}"
echo "DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:${PGPORT_LOCAL}/postgres"
