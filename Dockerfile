# Lifeline: the service image. Build: docker build -t lifeline .
# Two stages: the build stage compiles TypeScript with every dependency; the
# runtime stage installs production dependencies only and runs as a non-root user.
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY client/package.json ./client/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY scripts/build-status-page.js ./scripts/
COPY src ./src
# The service and the status page it serves (dist/status/public); the client SDK's build is not needed here.
RUN npx nest build && node scripts/build-status-page.js

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# As `npm start` sets it: no glibc fastbins, so freeing Node's per-read buffers never leaves the
# event loop a 2-4 ms malloc_consolidate (README: tuning for event-loop latency).
ENV GLIBC_TUNABLES=glibc.malloc.mxfast=0
WORKDIR /app
COPY package.json package-lock.json ./
COPY client/package.json ./client/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The official image's unprivileged user (uid 1000); nothing in /app is writable by it.
USER node
EXPOSE 3000
# node itself is PID 1 and gets SIGTERM: Lifeline drains (readiness 503, close 1001, cleanup) and exits 0.
# No HEALTHCHECK: the orchestrator probes /health/live and /health/ready (deploy/kubernetes).
CMD ["node", "dist/main.js"]
