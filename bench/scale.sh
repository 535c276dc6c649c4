#!/usr/bin/env bash
# npm run bench:scale [-- --quick] [-- --steps 10,100,1000,4000,8000] [-- --proxies "egresskit-forward squid"]
#                     [-- --runtime node24|path|/abs/node] [-- --workers N] [-- --no-443]
#
# Scale curves: for each proxy (a descriptor of the shared harness) and each step N, on a freshly
# started proxy: RSS idle, then N idle tunnels held open (KiB per idle tunnel), a keep-alive load
# of BENCH_CONCURRENCY connections while those N are held (req/s, p99, proxy CPU per request),
# then a keep-alive load over N active tunnels at once (req/s, p99). After the steps: start-up
# time (restart case). Then the port-443 case: egresskit's SNI check peeks only on --sni-ports
# (443), which the main bench never reaches; here an HTTPS upstream listens on 127.0.0.1:443 and
# egresskit is measured with the default check, with --sni-check off, and toward 18443 (no peek),
# interleaved. Everything on 127.0.0.1. Writes bench/results/<stamp>.{json,md,svg}; exit 1 when a
# proxy or a step failed (what was measured is written all the same). See bench/README.md.
set -uo pipefail   # no -e: the harness's helpers signal with return codes, checked below

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
usage() { sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

quick=0 steps="" scale_proxies="egresskit-forward squid" runtime=node24 workers=1 do443=1
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --steps) steps=$2; shift ;;
    --proxies) scale_proxies=$2; shift ;;
    --runtime) runtime=$2; shift ;;
    --workers) workers=$2; shift ;;
    --no-443) do443=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
if ((quick)); then
  steps=${steps:-10,100,1000}; : "${BENCH_DURATION:=3}" "${BENCH_STARTUP_REPS:=2}" "${BENCH_443_REPS:=1}"
fi
steps=${steps:-10,100,1000,4000,8000}

harness=${BENCH_HARNESS:-$repo/../shared/bench}
[[ -f $harness/run.sh ]] || { echo "benchmark harness not found at $harness (set BENCH_HARNESS)" >&2; exit 1; }
BENCH_DIR=$(cd -P "$harness" && pwd)
WORK=$(mkdir -p "${BENCH_WORK:-$repo/bench/work}" && cd "${BENCH_WORK:-$repo/bench/work}" && pwd)
RESULTS=$(mkdir -p "${BENCH_RESULTS:-$repo/bench/results}" && cd "${BENCH_RESULTS:-$repo/bench/results}" && pwd)
CERTS=${BENCH_CERTS:-$WORK/certs}
DUR=${BENCH_DURATION:-5}
ACTIVE_DUR=${BENCH_ACTIVE_DURATION:-$((DUR * 2))}   # N active tunnels: their handshakes come first
CONC=${BENCH_CONCURRENCY:-32}
UP_HTTP_PORT=${BENCH_UP_HTTP_PORT:-18080} UP_HTTPS_PORT=${BENCH_UP_HTTPS_PORT:-18443}
SETTLE=${BENCH_SETTLE:-1} STARTUP_REPS=${BENCH_STARTUP_REPS:-3} STARTUP_POLL_MS=${BENCH_STARTUP_POLL_MS:-1}
QUIET_MAX=${BENCH_QUIET_MAX:-0} QUIET_WAIT=${BENCH_QUIET_WAIT:-15} QUIET_BUDGET=${BENCH_QUIET_BUDGET:-120}
REPS_443=${BENCH_443_REPS:-2} HOST_443=${BENCH_443_HOST:-localhost}
STAMP=${BENCH_STAMP:-scale-$(date -u +%Y-%m-%dT%H%M%SZ)}
RUN_DIR=$WORK/runs/$STAMP LOGDIR=$WORK/runs/$STAMP/logs
LOADGEN=$WORK/bin/loadgen CLK_TCK=$(getconf CLK_TCK) BENCH_PID=$$
ALL_PIDS=$RUN_DIR/all.pids
export BENCH_DIR WORK CERTS UP_HTTP_PORT UP_HTTPS_PORT
mkdir -p "$LOGDIR" "$RUN_DIR/raw"; : >"$ALL_PIDS"
# shellcheck source=/dev/null
source "$BENCH_DIR/lib/common.sh"; source "$BENCH_DIR/lib/suite.sh"
# shellcheck source=lib/runtime.sh
source "$here/lib/runtime.sh"

cleanup() {
  local pid st name
  [[ -s $ALL_PIDS ]] && while read -r pid st name; do stop_pid "$pid" 5 "$st"; done < <(tac "$ALL_PIDS")
  return 0
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

max_step=0
for n in ${steps//,/ }; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "--steps: '$n' is not a positive integer"
  ((n > max_step)) && max_step=$n
done
hard=$(ulimit -Hn)
ulimit -n "$hard" || die "cannot raise the open-file limit to $hard"
# each tunnel is two descriptors in the proxy (client + upstream), N+CONC tunnels at the hold step
((2 * (max_step + CONC) + 200 < hard)) || die "step $max_step needs about $((2 * (max_step + CONC) + 200)) descriptors per process; the hard limit is $hard"

EGRESSKIT_NODE=$(resolve_runtime "$runtime" "$WORK") || die "runtime '$runtime' is not available"
EGRESSKIT_BIN=${EGRESSKIT_BIN:-$repo/bin/egresskit}
[[ -f $repo/dist/src/cli/main.js || $EGRESSKIT_BIN != "$repo/bin/egresskit" ]] || die "dist/ missing: npm run build first"
wargs=$(workers_args "$workers" "$EGRESSKIT_NODE" "$EGRESSKIT_BIN") || die "cannot measure --workers $workers"
# the default limit (4096) would answer 429 beyond it: the steps go above it on purpose
EGRESSKIT_ARGS="${wargs:+$wargs }--max-connections $((2 * max_step + 1000))${EGRESSKIT_ARGS:+ $EGRESSKIT_ARGS}"
export EGRESSKIT_NODE EGRESSKIT_BIN EGRESSKIT_ARGS

log "building loadgen into $LOADGEN"
(cd "$BENCH_DIR/loadgen" && GOFLAGS=-mod=mod GOPROXY=off GOCACHE=${GOCACHE:-$WORK/go-cache} go build -o "$LOADGEN" .) || die "go build failed"
"$BENCH_DIR/lib/certs.sh" "$CERTS" || die "cert generation failed"
for p in "$UP_HTTP_PORT" "$UP_HTTPS_PORT"; do port_free "$p" || die "port $p is busy"; done
UPSTREAM_CMD=$(UPSTREAM_DIR=$WORK/upstream CERTS=$CERTS BIG_SIZE=16M NGINX_WORKERS=${BENCH_NGINX_WORKERS:-1} \
  "$BENCH_DIR/upstream/start.sh") || die "upstream config failed"
# shellcheck disable=SC2086
spawn nginx $UPSTREAM_CMD
{ wait_listen "$UP_HTTP_PORT" && wait_listen "$UP_HTTPS_PORT"; } || die "nginx did not start (see $LOGDIR/nginx.log)"

printf '{"stamp":%s,"started_at":%s,"nproc":%s,"fd_hard_limit":%s,"steps":[%s],"concurrency":%s,"duration_s":%s,"active_duration_s":%s,"startup_reps":%s,"egresskit_node":%s,"egresskit_args":%s,"reps_443":%s,"host_443":%s}\n' \
  "$(json_str "$STAMP")" "$(json_str "$(date -u +%FT%TZ)")" "$(nproc)" "$hard" "$steps" "$CONC" "$DUR" "$ACTIVE_DUR" "$STARTUP_REPS" \
  "$(json_str "$("$EGRESSKIT_NODE" --version)")" "$(json_str "$EGRESSKIT_ARGS")" "$REPS_443" "$(json_str "$HOST_443")" >"$RUN_DIR/raw/meta.json"

# shellcheck source=lib/scale-suite.sh
source "$here/lib/scale-suite.sh"

order=""
for name in $scale_proxies; do
  [[ -f $BENCH_DIR/proxies/$name.sh ]] || { log "no descriptor proxies/$name.sh"; mkdir -p "$RUN_DIR/raw/$name"; echo '{"status":"no descriptor"}' >"$RUN_DIR/raw/$name/status.json"; order+=" $name"; continue; }
  order+=" $name"
  ( scale_suite "$name" ) || log "$name: scale suite failed"
done
echo "${order# }" >"$RUN_DIR/raw/order.txt"
if ((do443)); then ( port443_suite ) || log "port-443 case failed"; fi
date -u +%FT%TZ >"$RUN_DIR/raw/finished_at.txt"
cleanup; : >"$ALL_PIDS"

out=$RESULTS/$STAMP
rc=0
node "$here/lib/curves.mjs" "$RUN_DIR/raw" "$out.json" "$out.md" "$out.svg" || rc=$?
log "raw data and logs: $RUN_DIR/raw; results: $out.{json,md,svg}"
exit "$rc"
