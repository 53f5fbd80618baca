# syntax=docker/dockerfile:1
# Tollgate server image. .ci/run replays the install and build steps of both stages
# (scripts/container-smoke.sh), since CI has no Docker engine.

# --- build: full install (dev dependencies for tsc and Vite), compile to dist/ ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY clients/typescript/package.json ./clients/typescript/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json buf.yaml ./
COPY proto ./proto
COPY clients/typescript ./clients/typescript
COPY src ./src
COPY gen ./gen
COPY console ./console
COPY scripts ./scripts
RUN npm run build

# --- runtime: production dependencies only, non-root ---
# ENVIRONMENT=production: API keys required (TOLLGATE_BOOTSTRAP_ADMIN_KEY), webhooks only to
# public https destinations, Stripe unless BILLING_PROVIDER=mock. Never development on 0.0.0.0.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    TOLLGATE_DATA_DIR=/var/lib/tollgate
WORKDIR /app
COPY package.json package-lock.json ./
# The workspace's manifest, which npm ci checks the lock against; the client itself is not used.
COPY clients/typescript/package.json ./clients/typescript/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN mkdir -p /var/lib/tollgate && chown node:node /var/lib/tollgate
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The server drains on SIGTERM (docker stop) within SHUTDOWN_TIMEOUT_SECONDS.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
