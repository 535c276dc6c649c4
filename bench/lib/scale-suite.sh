# shellcheck shell=bash
# The per-proxy sequence of bench/scale.sh, and its port-443 case. Sourced after the harness's
# lib/common.sh and lib/suite.sh (spawn, start_proxy, snap, measure, startup_reps, stop_group).
# Each suite runs in a subshell, so a descriptor's variables never leak into the next.

# loadgen_args: client flags for the proxy the descriptor describes (as the harness's run_suite)
loadgen_args() {
  LG=(-ca "$CERTS/upstream-ca.crt${PROXY_TARGET_CA:+,$PROXY_TARGET_CA}")
  [[ -n $PROXY_URL ]] && LG+=(-proxy "$PROXY_URL")
  [[ -n $PROXY_CA ]] && LG+=(-proxy-ca "$PROXY_CA")
  [[ -n $PROXY_CLIENT_CERT ]] && LG+=(-proxy-cert "$PROXY_CLIENT_CERT" -proxy-key "$PROXY_CLIENT_KEY")
  return 0
}

# hold_start N DIR: open N tunnels (one GET each) in the background and wait until they are open;
# HOLD_PID is the holder (stop it with hold_stop). Returns 1 when they did not open in time.
hold_start() {
  local n=$1 dir=$2 i
  rm -f "$dir/ready"
  "$LOADGEN" hold "${LG[@]}" -target "https://127.0.0.1:$UP_HTTPS_PORT/small" -n "$n" -c 50 -d 180s -hold 900s \
    -ready-file "$dir/ready" >"$dir/hold.json" 2>"$dir/hold.err" &
  HOLD_PID=$!; register_pid "$HOLD_PID" loadgen-hold
  for ((i = 0; i < 2000; i++)); do [[ -f $dir/ready ]] && break; alive "$HOLD_PID" || break; sleep 0.1; done
  [[ -f $dir/ready ]] || return 1
  cp "$dir/ready" "$dir/hold.ready.json"
}
hold_stop() { stop_pid "$HOLD_PID" 10; wait "$HOLD_PID" 2>/dev/null; return 0; }

scale_suite() {
  local name=$1 n S
  PDIR=$WORK/proxies/scale-$name OUT=$RUN_DIR/raw/$name GROUP_PIDS=$WORK/proxies/scale-$name/pids
  rm -rf "$PDIR"; mkdir -p "$PDIR" "$OUT"
  LOGDIR=$OUT
  PROXY_DESC="" PROXY_KIND=forward PROXY_URL="" PROXY_PORTS="" PROXY_CA="" PROXY_CLIENT_CERT="" PROXY_CLIENT_KEY="" PROXY_TARGET_CA=""
  # shellcheck disable=SC1090
  source "$BENCH_DIR/proxies/$name.sh" || { echo '{"status":"cannot source descriptor"}' >"$OUT/status.json"; return 1; }
  declare -F proxy_version >/dev/null || proxy_version() { echo "?"; }
  write_status() {
    printf '{"status":%s,"kind":%s,"url":%s,"description":%s,"version":%s}\n' "$(json_str "$1")" "$(json_str "$PROXY_KIND")" \
      "$(json_str "$PROXY_URL")" "$(json_str "$PROXY_DESC")" "$(json_str "$(proxy_version)")" >"$OUT/status.json"
  }
  [[ -n $PROXY_URL ]] || { write_status "not a proxy (no PROXY_URL)"; return 1; }
  local p
  for p in $PROXY_PORTS; do port_free "$p" || { write_status "port $p busy"; return 1; }; done
  write_status running
  trap 'stop_group "$GROUP_PIDS"' EXIT
  local -a LG=(); loadgen_args
  log "== scale: $name ($PROXY_KIND) $PROXY_URL, steps $steps"
  for n in ${steps//,/ }; do
    S=$OUT/n$n; mkdir -p "$S"
    stop_group "$GROUP_PIDS"
    if ! start_proxy; then echo '{"error":"the proxy did not start"}' >"$S/error.json"; log "  n=$n: start failed"; continue; fi
    snap "$S/idle.json"
    if hold_start "$n" "$S"; then
      sleep 1; snap "$S/hold_during.json"
      OUT=$S measure ka_hold "$LOADGEN" keepalive "${LG[@]}" -target "https://127.0.0.1:$UP_HTTPS_PORT/small" -c "$CONC" -d "${DUR}s"
    else
      echo "{\"error\":\"$n tunnels did not open within 200 s\"}" >"$S/error.json"
    fi
    hold_stop
    log "  n=$n hold $(cat "$S/hold.ready.json" 2>/dev/null || echo '(not ready)')"
    sleep 1
    OUT=$S measure ka_active "$LOADGEN" keepalive "${LG[@]}" -target "https://127.0.0.1:$UP_HTTPS_PORT/small" \
      -c "$n" -d "${ACTIVE_DUR}s" -timeout 30s
  done
  ((STARTUP_REPS > 0)) && startup_reps "${PROXY_URL##*:}" "$OUT/startup.json"
  write_status ok
  stop_group "$GROUP_PIDS"
  trap - EXIT
}

# port443_suite: egresskit forward toward an HTTPS upstream on 127.0.0.1:443 (a second nginx),
# where the SNI check peeks at the ClientHello, beside the same proxy with --sni-check off and
# toward 18443 (not an --sni-ports port: no peek). The variants are interleaved, REPS_443 times.
port443_suite() {
  local dir=$RUN_DIR/raw/port443 http443=${BENCH_UP_HTTP443_PORT:-18081}
  local port=${BENCH_PORT_EGK_443:-13180} admin=${BENCH_PORT_EGK_443_ADMIN:-13181} rep v
  mkdir -p "$dir"
  if ! port_free 443 || ! port_free "$http443"; then
    echo '{"error":"127.0.0.1:443 (or the second upstream'"'"'s HTTP port) is busy"}' >"$dir/error.json"; return 1
  fi
  GROUP_PIDS=$WORK/upstream443.pids; : >"$GROUP_PIDS"
  local cmd
  cmd=$(UPSTREAM_DIR=$WORK/upstream443 CERTS=$CERTS BIG_SIZE=16M NGINX_WORKERS=${BENCH_NGINX_WORKERS:-1} \
    UP_HTTP_PORT=$http443 UP_HTTPS_PORT=443 "$BENCH_DIR/upstream/start.sh") || { echo '{"error":"upstream config failed"}' >"$dir/error.json"; return 1; }
  # shellcheck disable=SC2086
  spawn nginx443 $cmd
  wait_listen 443 || { echo '{"error":"nginx did not listen on 443"}' >"$dir/error.json"; return 1; }
  local upstream_group=$GROUP_PIDS
  trap 'stop_group "$upstream_group"' EXIT
  # name|target|extra egresskit flags
  local variants=("sni-check report (default), port 443|https://$HOST_443:443/small|"
    "sni-check off, port 443|https://$HOST_443:443/small|--sni-check off"
    "port $UP_HTTPS_PORT (not peeked)|https://$HOST_443:$UP_HTTPS_PORT/small|")
  : >"$dir/order.txt"
  for v in "${variants[@]}"; do echo "${v%%|*}" >>"$dir/order.txt"; done
  log "== port-443 case: ${#variants[@]} variants x $REPS_443 reps, target host $HOST_443"
  for ((rep = 1; rep <= REPS_443; rep++)); do
    for i in "${!variants[@]}"; do
      ( port443_variant "$dir/v$i/r$rep" "${variants[$i]}" "$port" "$admin" ) || log "  port-443 variant $i rep $rep failed"
    done
  done
  stop_group "$upstream_group"
  trap - EXIT
}

port443_variant() {
  local out=$1 spec=$2 port=$3 admin=$4
  local vname=${spec%%|*} rest=${spec#*|}
  local target=${rest%%|*} extra=${rest#*|}
  mkdir -p "$out"; OUT=$out LOGDIR=$out PDIR=$out GROUP_PIDS=$out/pids PROXY_PORTS="$port $admin" PROXY_KIND=forward
  : >"$GROUP_PIDS"
  printf '{"variant":%s,"target":%s,"flags":%s}\n' "$(json_str "$vname")" "$(json_str "$target")" "$(json_str "$extra")" >"$out/variant.json"
  proxy_start() {
    # shellcheck disable=SC2086
    spawn egresskit-443 "$EGRESSKIT_NODE" "$EGRESSKIT_BIN" forward --listen "127.0.0.1:$port" --admin "127.0.0.1:$admin" \
      --allow-private --connect-ports "443,$UP_HTTPS_PORT" $EGRESSKIT_ARGS $extra
    wait_listen "$port" 30
  }
  trap 'stop_group "$GROUP_PIDS"' EXIT
  start_proxy || { echo '{"error":"egresskit did not start"}' >"$out/error.json"; return 1; }
  local -a LG=(-ca "$CERTS/upstream-ca.crt" -proxy "http://127.0.0.1:$port")
  measure tunnels "$LOADGEN" tunnels "${LG[@]}" -target "$target" -c "$CONC" -d "${DUR}s"
  measure keepalive "$LOADGEN" keepalive "${LG[@]}" -target "$target" -c "$CONC" -d "${DUR}s"
  stop_group "$GROUP_PIDS"
  trap - EXIT
}
