#!/usr/bin/env bash
# Start the local Gendan infrastructure (PostgreSQL + Kafka), idempotently.
# Progress goes to stderr; stdout carries only the env lines, so
#   deploy/local/up.sh > .env.local        or   export $(deploy/local/up.sh)
# both work.
#
# A server another clone of the repository started on the default ports is shared; a port
# taken by anything else makes this clone's server take a free one (unless the port was set).
# Env (optional): PGPORT_LOCAL (5432), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1),
# KAFKA_SASL (1: SASL/SCRAM and ACLs on a new broker; 0: PLAINTEXT)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOCAL_STATE_DIR="$(cd "${HERE}/../.." && pwd)/.local"

start=$SECONDS
"${HERE}/postgres.sh" start >&2 || { echo "up.sh: PostgreSQL failed to start" >&2; exit 1; }
"${HERE}/kafka.sh" start >&2    || { echo "up.sh: Kafka failed to start" >&2; exit 1; }
echo "up.sh: local infrastructure ready in $((SECONDS - start))s. Environment:" >&2

cat "${LOCAL_STATE_DIR}/kafka/client.env" "${LOCAL_STATE_DIR}/postgres.env"
