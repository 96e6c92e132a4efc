# workload-ca container image.
#   docker build -t workload-ca:0.1.0 .
#   docker run --read-only --tmpfs /tmp -v ca:/etc/workload-ca/ca:ro ... workload-ca:0.1.0 serve
# Commands: serve (default), worker, migrate, and the rest of the CLI (`workload-ca help`).

# --- build: compile TypeScript with the dev dependencies, which the runtime image does not carry.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# `prepare` would build before the sources are copied; the build runs explicitly below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- runtime dependencies only, resolved from the same lock file.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime: no compiler, no npm cache, no shell needed at run time; a fixed non-root user so
# Kubernetes can check runAsNonRoot, and nothing written outside the mounted data directory.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    WORKLOAD_CA_HOST=0.0.0.0 \
    WORKLOAD_CA_DATA_DIR=/var/lib/workload-ca
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY web ./web
RUN groupadd --system --gid 10001 workload-ca \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/workload-ca --shell /usr/sbin/nologin workload-ca \
 && mkdir -p /var/lib/workload-ca \
 && chown 10001:10001 /var/lib/workload-ca
# With a read-only root filesystem, /var/lib/workload-ca and /tmp are volumes (the chart mounts emptyDirs).
VOLUME ["/var/lib/workload-ca"]
USER 10001:10001
EXPOSE 8443 9464
ENTRYPOINT ["node", "bin/workload-ca.js"]
CMD ["serve"]
