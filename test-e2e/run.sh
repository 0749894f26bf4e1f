#!/usr/bin/env bash
# Runs the end-to-end suite: Docker engine (idempotent setup), the brook image built from
# the current workspace on a local base image, leftovers of crashed runs removed before and
# after (Ryuk, testcontainers' reaper, cannot be pulled here). Extra args go to vitest,
# e.g. `bash test-e2e/run.sh tests/smoke.compose.test.ts`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

# both compose flavours: the smoke test runs docker-compose.yml with v2 and with 1.29
COMPOSE=both bash "$ROOT/scripts/docker/setup-docker.sh"
bash "$ROOT/scripts/docker/build-image.sh" "${BROOK_IMAGE:=brook/node:local}"
export BROOK_IMAGE BASE_IMAGE="${BASE_IMAGE:-local/node-base:20}"
export TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
bash "$ROOT/scripts/docker/docker-test-cleanup.sh"
status=0
(cd "$ROOT" && npx vitest run --config test-e2e/vitest.config.ts "$@") || status=$?
ALSO_PROJECTS="brook-e2e-smoke-v2 brook-e2e-smoke-v1" bash "$ROOT/scripts/docker/docker-test-cleanup.sh"
exit $status
