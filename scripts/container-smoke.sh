#!/usr/bin/env bash
# Replays the Dockerfile's stages without a Docker engine: the build stage's `npm ci` and
# `npm run build` in a clean copy, then the runtime stage's `npm ci --omit=dev` with only
# dist/ copied over, and starts that as the container would, checking the HEALTHCHECK command.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "container-smoke: build stage"
mkdir -p "$work/build" "$work/runtime"
cp "$root/package.json" "$root/package-lock.json" "$root/tsconfig.json" "$root/buf.yaml" "$work/build/"
cp -r "$root/src" "$root/gen" "$root/console" "$root/proto" "$root/scripts" "$work/build/"
mkdir -p "$work/build/clients" "$work/runtime/clients/typescript"
cp -r "$root/clients/typescript" "$work/build/clients/"
rm -rf "$work/build/clients/typescript/dist" "$work/build/clients/typescript/src/gen" \
  "$work/build/clients/typescript/node_modules"
(cd "$work/build" && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)

echo "container-smoke: runtime stage"
cp "$root/package.json" "$root/package-lock.json" "$work/runtime/"
cp "$root/clients/typescript/package.json" "$work/runtime/clients/typescript/"
(cd "$work/runtime" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
cp -r "$work/build/dist" "$work/runtime/dist"
if [ -d "$work/runtime/node_modules/typescript" ] || [ -d "$work/runtime/node_modules/vitest" ]; then
  echo "container-smoke: dev dependencies leaked into the runtime stage" >&2
  exit 1
fi

port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
# As a container deployment would: a bootstrap admin key, so the server runs locked.
# The image's ENVIRONMENT=production, with the mock provider (no Stripe account here).
(cd "$work/runtime" && NODE_ENV=production ENVIRONMENT=production BILLING_PROVIDER=mock \
  HOST=127.0.0.1 PORT="$port" \
  TOLLGATE_BOOTSTRAP_ADMIN_KEY="tg_smoke000_$(node -e "console.log(require('crypto').randomBytes(16).toString('hex'))")" \
  TOLLGATE_DATA_DIR="$work/data" exec node dist/src/main.js >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 100); do
  if (cd "$work/runtime" && PORT="$port" node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"); then
    echo "container-smoke: healthy on port $port"
    # The console's built assets made it into the runtime stage and are served.
    (cd "$work/runtime" && PORT="$port" node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/console').then(async r=>{const ok=r.ok&&(await r.text()).includes('/console/assets/');process.exit(ok?0:1)},()=>process.exit(1))") \
      || { echo "container-smoke: /console is not served" >&2; exit 1; }
    echo "container-smoke: console served"
    kill -TERM "$server_pid"
    wait "$server_pid"
    server_pid=""
    echo "container-smoke: drained and exited cleanly"
    exit 0
  fi
  sleep 0.2
done
echo "container-smoke: server never became healthy" >&2
cat "$work/server.log" >&2
exit 1
