#!/usr/bin/env bash
# Builds the brook node image (deploy/Dockerfile) with no image registry and no network in
# the build: a local base image from build-node-base-debian.sh unless BASE_IMAGE names one
# that exists, the workspace built on the host, the production deployment of @brook/server
# (`pnpm deploy --prod --legacy`, production dependencies only) in deploy/.out/server, then a
# multi-stage `docker build` with deploy/ as the context. Idempotent and quick when nothing
# changed.
#
# Usage: bash scripts/docker/build-image.sh [IMAGE_TAG]   (default: brook/node:local)
#   env: BASE_IMAGE (default: node:20-bookworm-slim if present locally, else local/node-base:20)
#        SKIP_BUILD=1 to reuse the current dist/ (CI builds once before); the deploy step
#        always runs (~5 s) so the image never carries a stale deployment
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

# --legacy: pnpm 10's deploy otherwise wants inject-workspace-packages=true in the workspace.
OUT="$ROOT/deploy/.out/server"
rm -rf "$OUT" && mkdir -p "$ROOT/deploy/.out"
(cd "$ROOT" && npx --yes "$PNPM" --filter @brook/server deploy --prod --legacy --prefer-offline "$OUT" >"$ROOT/deploy/.out/deploy.log" 2>&1) \
  || { tail -20 "$ROOT/deploy/.out/deploy.log"; exit 1; }
echo "[build-image] pnpm deploy --prod of @brook/server -> deploy/.out/server ($(du -sm "$OUT" | cut -f1) MB before trimming)"

echo "[build-image] docker build $IMAGE (base $BASE_IMAGE)"
docker build -q -f "$ROOT/deploy/Dockerfile" --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" "$ROOT/deploy"
echo "[build-image] built $IMAGE ($(docker image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%d MB", $1/1e6}'))"
