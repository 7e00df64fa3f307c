# Shared pieces of sockcat's scripts; source it from bash after `set -euo pipefail`.

# install_missing PREFIX CMD=PACKAGE...: installs, as root with apt-get, the
# Debian package of every command that is missing, and says so; otherwise
# says what is missing and why it is not installed.
install_missing() {
  local prefix=$1 pair cmd
  shift
  local missing=()
  for pair in "$@"; do
    cmd=${pair%%=*}
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${pair#*=}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$prefix: installing missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "$prefix: missing ${missing[*]} (not root: not installing); what needs them is skipped with a reason"
  fi
}

# bench_workspace NAME: makes a temporary directory in $tmp and an empty
# $pids list; on exit every PID added to pids is stopped and tmp removed.
bench_workspace() {
  tmp=$(mktemp -d "/tmp/sockcat-$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}

# bench_binary PREFIX BIN: puts the sockcat to measure at $sc: a copy of BIN,
# or a fresh build when BIN is empty.
bench_binary() {
  sc=$tmp/sockcat
  if [ -n "$2" ]; then
    cp "$2" "$sc"
  else
    echo "$1: building sockcat"
    go build -o "$sc" .
  fi
}
