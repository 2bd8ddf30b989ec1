#!/usr/bin/env bash
# Stop the local Gendan infrastructure (Kafka + PostgreSQL). Data is kept in
# <repo>/.local/; delete that folder for a clean slate.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

rc=0
"${HERE}/kafka.sh" stop    || { echo "down.sh: stopping Kafka failed" >&2; rc=1; }
"${HERE}/postgres.sh" stop || { echo "down.sh: stopping PostgreSQL failed" >&2; rc=1; }
exit "$rc"
