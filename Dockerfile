# syntax=docker/dockerfile:1
# egresskit container image.
#
#   docker build -t egresskit .
#   docker run --rm --read-only -p 8888:8888 -p 9090:9090 egresskit            # forward mode
#   docker run --rm --read-only -v "$PWD/tls:/etc/egresskit/tls:ro" -p 8443:8443 \
#     egresskit mtls --tls-dir /etc/egresskit/tls                               # mtls mode
#
# Behind a TLS-inspecting proxy, hand npm the corporate CA as a build secret; it is mounted for
# the two `npm ci` steps only and never written to a layer:
#   docker build --secret id=corp_ca,src=/usr/local/share/ca-certificates/corp.crt -t egresskit .
#
# NODE_IMAGE picks the base (both stages); any image with node and npm on PATH works. The test
# in scripts/test-image.sh passes a locally assembled one.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# No update check; no compile cache left in /tmp by npm.
ENV npm_config_update_notifier=false \
    NODE_DISABLE_COMPILE_CACHE=1
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are copied; the build runs below.
RUN --mount=type=secret,id=corp_ca,required=false \
    if [ -s /run/secrets/corp_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/corp_ca; fi \
 && npm ci --ignore-scripts --no-audit --no-fund --cache /tmp/npm-cache \
 && rm -rf /tmp/npm-cache
COPY tsconfig.json ./
COPY src ./src
COPY ui ./ui
COPY scripts/bundle.mjs ./scripts/
# tsconfig also includes test/**, which is not in this stage: only the library and CLI compile.
# The build also bundles the inspect UI (ui/, vite) into dist/ui, and the CLI (esbuild) into
# dist/bundle: one file per command's chunk instead of hundreds of small modules to resolve.
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ARG NODE_IMAGE
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="egresskit" \
      org.opencontainers.image.description="Egress proxies for Kubernetes: forward (CONNECT) and mtls (client-certificate) modes in one program with one config." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. --ignore-scripts: `prepare` runs tsc, a devDependency; dist/
# comes from the build stage. npm's cache and logs go to a directory removed in the same step.
RUN --mount=type=secret,id=corp_ca,required=false \
    if [ -s /run/secrets/corp_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/corp_ca; fi \
 && NODE_DISABLE_COMPILE_CACHE=1 npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      --no-update-notifier --cache /tmp/npm-cache \
 && rm -rf /tmp/npm-cache /tmp/node-compile-cache /root/.npm
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/ui ./dist/ui
COPY --from=build /src/dist/bundle ./dist/bundle
COPY bin ./bin
COPY scripts/warm-compile-cache.mjs ./scripts/
# Nothing is written outside /tmp and mounted volumes, so a read-only root filesystem works;
# HOME points at /tmp for any library that wants a home directory.
# NODE_COMPILE_CACHE: V8's compiled code for the CLI, written below by starting each mode once,
# so a Pod's first start is as fast as a restart (Node >= 22.1; bin/egresskit enables it).
# Node keys the cache by its version and the user id: a Pod run as another uid gets no cache
# (and no error), and egresskit starts as it would without one.
ENV NODE_ENV=production \
    HOME=/tmp \
    NODE_COMPILE_CACHE=/app/.compile-cache
RUN mkdir /app/.compile-cache && chown 10001:10001 /app/.compile-cache
USER 10001:10001
RUN node scripts/warm-compile-cache.mjs
# Then read-only for the proxy: nothing is written outside /tmp at run time (a module first
# loaded later, e.g. undici for plain HTTP, is compiled as usual; Node's failed write is silent).
USER root
RUN chown -R root:root /app/.compile-cache && chmod -R a+rX,go-w /app/.compile-cache
# Numeric, so runAsNonRoot can verify it without an /etc/passwd entry.
USER 10001:10001
# forward 8888, mtls 8443, inspect 8080 (proxy) and 8081 (web UI), admin 9090.
EXPOSE 8888 8443 8080 8081 9090
# Exec form: node is PID 1 and receives SIGTERM itself; egresskit installs SIGTERM/SIGINT
# handlers that drain (stop accepting, fail /readyz, wait for tunnels) and then exit 0.
ENTRYPOINT ["node", "/app/bin/egresskit"]
CMD ["forward"]
