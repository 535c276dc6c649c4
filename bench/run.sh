#!/usr/bin/env bash
# npm run bench [-- --quick] [-- --modes forward,mtls,inspect] [-- --no-install]
#
# Runs the shared egress-proxy benchmark harness (read-only, beside the repo as
# ../shared/bench, or $BENCH_HARNESS) against egresskit and its peers, with scratch and
# results kept inside this repo (bench/work, bench/results; both gitignored).
# All traffic stays on 127.0.0.1. See bench/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: npm run bench -- [--quick] [--modes forward,mtls,inspect] [--no-install]

  --quick         smoke run: BENCH_DURATION=3 BENCH_HOLD_TUNNELS=200 BENCH_BIG_SIZE=256M
                  BENCH_BULK_REPS=1 BENCH_QUIET_MAX=0 (a knob already set in the env wins)
  --modes LIST    which egresskit modes to measure, each beside its peer:
                    forward -> tinyproxy         + egresskit-forward
                    mtls    -> stunnel-tinyproxy + egresskit-mtls
                    inspect -> mitmproxy         + egresskit-inspect
                  (direct, the ratio baseline, is always first). Overrides BENCH_PROXIES.
  --no-install    do not apt-get install missing tools (same as BENCH_NO_INSTALL=1)

env: BENCH_PROXIES (default "direct tinyproxy egresskit-forward stunnel-tinyproxy egresskit-mtls"), BENCH_HARNESS,
     BENCH_WORK, BENCH_RESULTS, EGRESSKIT_BIN, EGRESSKIT_ARGS, and every knob of the
     harness (BENCH_DURATION, BENCH_CONCURRENCY, BENCH_HOLD_TUNNELS, BENCH_BIG_SIZE, ...).
EOF
}

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/.." && pwd))

# ---- arguments
quick=0 modes="" no_install=${BENCH_NO_INSTALL:-0}
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --modes) [[ $# -ge 2 ]] || die "--modes needs a value"; modes=$2; shift ;;
    --modes=*) modes=${1#--modes=} ;;
    --no-install) no_install=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

if ((quick)); then
  export BENCH_DURATION=${BENCH_DURATION:-3} BENCH_HOLD_TUNNELS=${BENCH_HOLD_TUNNELS:-200} \
    BENCH_BIG_SIZE=${BENCH_BIG_SIZE:-256M} BENCH_BULK_REPS=${BENCH_BULK_REPS:-1} \
    BENCH_QUIET_MAX=${BENCH_QUIET_MAX:-0}
fi

if [[ -n $modes ]]; then
  proxies="direct"
  for m in ${modes//,/ }; do
    case $m in
      forward) proxies+=" tinyproxy egresskit-forward" ;;
      mtls) proxies+=" stunnel-tinyproxy egresskit-mtls" ;;
      inspect) proxies+=" mitmproxy egresskit-inspect" ;;
      *) die "unknown mode '$m' (forward, mtls, inspect)" ;;
    esac
  done
else
  proxies=${BENCH_PROXIES:-direct tinyproxy egresskit-forward stunnel-tinyproxy egresskit-mtls}
fi
[[ " $proxies " == *" direct "* ]] || { log "adding 'direct' (every ratio is to it)"; proxies="direct $proxies"; }

# ---- the harness (read-only: nothing is ever written into it)
harness=${BENCH_HARNESS:-$repo/../shared/bench}
[[ -f $harness/run.sh ]] || die "benchmark harness not found at $harness (set BENCH_HARNESS)"
harness=$(cd -P "$harness" && pwd)
for p in $proxies; do
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
# command:package  (stunnel4 installs /usr/bin/stunnel4 and, via alternatives, stunnel)
want_tools="nginx:nginx tinyproxy:tinyproxy wrk:wrk go:golang-go curl:curl openssl:openssl
  stunnel:stunnel4 mitmdump:mitmproxy squid:squid ss:iproute2"
missing=()
for tp in $want_tools; do command -v "${tp%%:*}" >/dev/null 2>&1 || missing+=("${tp#*:}"); done
if ((${#missing[@]})); then
  if [[ $no_install == 1 ]]; then
    log "missing packages (not installing, --no-install): ${missing[*]}"
  elif [[ $(id -u) != 0 ]]; then
    log "missing packages, not root so not installing: ${missing[*]}"
    log "  run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  else
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$work/apt-install.log" 2>&1 ||
      { tail -20 "$work/apt-install.log" >&2; die "apt-get install failed (log: $work/apt-install.log)"; }
    # Debian's packages start their daemons as system services where the init system
    # lets them (systemd; not here in a container with policy-rc.d). The harness starts
    # its own nginx/tinyproxy/squid/stunnel on private ports: stop and disable those we
    # just installed, so none is left running as a system service.
    for svc in nginx tinyproxy squid stunnel4; do
      [[ " ${missing[*]} " == *" $svc "* ]] || continue
      if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        systemctl disable --now "$svc" >/dev/null 2>&1 || true
      elif [[ -x /etc/init.d/$svc ]]; then
        service "$svc" stop >/dev/null 2>&1 || true   # not every init script has "status"
        update-rc.d "$svc" disable >/dev/null 2>&1 || true
      fi
    done
    pgrep -x nginx >/dev/null && log "WARNING: an nginx is running (a system service?); the harness needs ports ${BENCH_UP_HTTP_PORT:-18080}/${BENCH_UP_HTTPS_PORT:-18443} free"
    true
  fi
fi

# ---- egresskit (only when an egresskit descriptor is selected)
export EGRESSKIT_BIN=${EGRESSKIT_BIN:-$repo/bin/egresskit}
if [[ " $proxies " == *" egresskit-"* && $EGRESSKIT_BIN == "$repo/bin/egresskit" ]]; then
  cd "$repo"
  [[ -d node_modules ]] || { log "node_modules missing: npm ci"; npm ci; }
  # build when dist/ is missing or older than a source file (a stale build would be measured)
  if [[ ! -f dist/src/cli/main.js ]] || [[ -n $(find src -newer dist/src/cli/main.js -type f -print -quit) ]]; then
    log "dist/ missing or older than src/: npm run build"
    npm run build || die "npm run build failed"
  fi
fi

# ---- run the harness from the repo root
cd "$repo"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # 1000+ idle tunnels per proxy
export BENCH_WORK=$work BENCH_RESULTS=$results BENCH_PROXIES=$proxies
export BENCH_STAMP=${BENCH_STAMP:-$(date -u +%Y-%m-%dT%H%M%SZ)}
stamp=$BENCH_STAMP
log "harness $harness; proxies: $proxies"
log "work $work/runs/$stamp; results $results/$stamp.{md,json}"
rc=0
bash "$harness/run.sh" || rc=$?

json=$results/$stamp.json md=$results/$stamp.md
[[ -f $json ]] || die "harness exited $rc without writing $json (logs: $work/runs/$stamp)"
echo
echo "== results: $md"
echo "   (raw data and per-proxy logs: $work/runs/$stamp/raw/<proxy>/, nginx: $work/runs/$stamp/logs/)"
echo
echo "== performance targets (node $harness/report/targets.mjs $json)"
node "$harness/report/targets.mjs" "$json" || true   # exits 1 while any target is unmet or unmeasured
echo
echo "== summary (value, ratio to direct in the same run)"
node - "$json" <<'JS'
const d = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'));
const cols = [
  ['bulk_http_MBps', 'bulk http MB/s'], ['bulk_https_MBps', 'bulk https MB/s'],
  ['tunnels_per_s', 'tunnels/s'], ['keepalive_rps', 'keep-alive req/s'],
  ['fwd_wrk_rps', 'fwd wrk req/s'], ['fwd_lg_rps', 'fwd loadgen req/s'],
];
const num = (v) => v == null || !Number.isFinite(v) ? '—' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
const rows = [['proxy', 'status', ...cols.map(([, l]) => l), 'KiB/tunnel', 'CPU ms/tunnel']];
for (const p of d.proxies) {
  const m = p.metrics ?? {};
  rows.push([p.name, p.status ?? '?',
    ...cols.map(([k]) => num(m[k]) + (p.name !== 'direct' && p.ratios?.[k] != null ? ` (${p.ratios[k].toFixed(2)}×)` : '')),
    num(m.hold_KiB_per_tunnel), m.cpu_ms_per_tunnel == null ? '—' : m.cpu_ms_per_tunnel.toFixed(2)]);
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
for (const p of d.proxies) {
  const s = p.sanity ?? {};
  const want = { https_via_tunnel: true, http_absolute_uri: true, http_via_tunnel: true,
    tls_intercepted: p.kind === 'inspect', rejects_no_client_cert: true, rejects_untrusted_client_cert: true };
  const bad = Object.entries(want).filter(([k, v]) => s[k] != null && s[k] !== v).map(([k]) => `${k}=${s[k]}`);
  if (p.status !== 'ok') console.log(`! ${p.name}: status "${p.status}"`);
  if (bad.length) console.log(`! ${p.name}: sanity checks failed: ${bad.join(', ')}`);
  for (const n of p.notes ?? []) console.log(`- ${p.name}: ${n.length > 300 ? n.slice(0, 300) + '…' : n}`);
}
JS
for p in $proxies; do
  st=$work/runs/$stamp/raw/$p/status.json
  if [[ -f $st ]] && ! grep -q '"status":"ok"' "$st"; then
    for f in "$work/runs/$stamp/raw/$p"/*.log; do
      [[ -s $f ]] && { echo "--- tail $f"; tail -15 "$f"; }
    done
  fi
done
exit "$rc"
