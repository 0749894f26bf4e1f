#!/usr/bin/env bash
# Builds the brook node image (deploy/Dockerfile) with no image registry and no network in
# the build: a local base image from build-node-base-debian.sh unless BASE_IMAGE names one
# that exists, the workspace built on the host, then `docker build`. Idempotent and quick
# when nothing changed.
#
# Usage: bash scripts/docker/build-image.sh [IMAGE_TAG]   (default: brook/node:local)
#   env: BASE_IMAGE (default: node:20-bookworm-slim if present locally, else local/node-base:20)
#        SKIP_BUILD=1 to reuse the current dist/ (CI builds once before)
#        SETUP=1 to run setup-docker.sh first
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
IMAGE="${1:-brook/node:local}"
PNPM="pnpm@$(node -p "require('$ROOT/package.json').packageManager.split('@')[1]")"

[[ "${SETUP:-0}" == 1 ]] && bash "$HERE/setup-docker.sh"

if [[ -z "${BASE_IMAGE:-}" ]]; then
  if docker image inspect node:20-bookworm-slim >/dev/null 2>&1; then
    BASE_IMAGE=node:20-bookworm-slim
  else
    BASE_IMAGE=local/node-base:20
    INCLUDE="${INCLUDE:-iproute2,iptables}" bash "$HERE/build-node-base-debian.sh" "$BASE_IMAGE"
  fi
fi

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  (cd "$ROOT" && npx --yes "$PNPM" install --prefer-offline >/dev/null && npx --yes "$PNPM" run build)
fi

echo "[build-image] docker build $IMAGE (base $BASE_IMAGE)"
docker build -q -f "$ROOT/deploy/Dockerfile" --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" "$ROOT"
echo "[build-image] built $IMAGE ($(docker image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%d MB", $1/1e6}'))"
