# syntax=docker/dockerfile:1
# One image for Harvester's api and worker (and its one-shot jobs: migrations, bucket setup).
#   api (default):  node dist/src/api/main.js
#   worker:         node dist/src/worker/main.js
#   migrations:     node dist/scripts/migrate.js
#   bucket setup:   node dist/scripts/setup-storage.js
# Node 22 LTS on Debian bookworm: glibc, which the Temporal SDK's native core needs.
ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: compile TypeScript, bundle the workflows ahead of time ---------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build && npm run build:workflows -- dist/workflow-bundle.js

# --- production dependencies only -------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js \
    SCRATCH_DIR=/scratch
WORKDIR /app
# Owned by root and read-only to the process: only /scratch (and /tmp) are written at run time.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY migrations ./migrations
COPY prompts ./prompts
COPY --from=build /app/dist ./dist
RUN mkdir -p /scratch && chown node:node /scratch
# The official image's unprivileged user (uid 1000).
USER node
EXPOSE 8080 9464
CMD ["node", "dist/src/api/main.js"]
