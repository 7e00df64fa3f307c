#!/usr/bin/env bash
# Benchmarks `sockcat -z` against OpenBSD `nc -z`, `nmap -sT` and
# `nmap -sS` (both -T5, the fastest nmap timing; -sS needs root) scanning
# TCP ports 1-65535 of 127.0.0.1 while a few listeners are open, all in one
# invocation, the tools alternating run by run (the order rotates each run).
# It prints the median wall time of each tool, its ratio to nc, whether the
# targets are met (sockcat <= 0.5x nc, and no slower than nmap -sS), and
# whether every tool found the same open ports (the listeners started here
# must be found by all; other open ports of this host are listed too).
#
# Usage: scripts/bench-scan.sh [--quick] [--runs N] [--bin PATH]
#   --quick     3 runs per tool (default 5; at least 3)
#   --runs N    runs per tool
#   --bin PATH  benchmark this sockcat binary instead of building one
# Loopback only (127.0.0.1). Every process started is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) runs=3 ;;
    --runs) runs=$2; shift ;;
    --bin) bin=$2; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-scan.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$runs" in '' | *[!0-9]*) echo "bench-scan.sh: --runs $runs: want a number" >&2; exit 2 ;; esac
[ "$runs" -ge 3 ] || { echo "bench-scan.sh: --runs $runs: want at least 3 (medians)" >&2; exit 2; }

# 1. Tools: install what is missing when root.
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
install_missing bench-scan.sh nc=netcat-openbsd nmap=nmap python3=python3
have() { command -v "$1" >/dev/null 2>&1; }
have python3 || { echo "bench-scan.sh: python3 is required (listeners)" >&2; exit 1; }
nc_ok=0
if have nc && readlink -f "$(command -v nc)" | grep -q openbsd; then nc_ok=1; fi
[ "$nc_ok" = 1 ] || echo "bench-scan.sh: OpenBSD nc not found: its row is skipped"
root=0
[ "$(id -u)" = 0 ] && root=1
have nmap || echo "bench-scan.sh: nmap not found: its rows are skipped"
[ "$root" = 1 ] || echo "bench-scan.sh: not root: nmap -sS (raw sockets) is skipped"

# 2. Workspace; everything started is stopped by PID.
bench_workspace bench-scan

bench_binary bench-scan.sh "$bin"
# The fallback engines of macOS/FreeBSD (poll) and Windows (dial), timed on
# this machine through a benchmark-only build that reads
# SOCKCAT_TESTONLY_SCAN_ENGINE (release builds ignore it).
fallbacks=()
if [ -z "$bin" ]; then
  go build -tags sockcat_testonly -o "$tmp/sockcat-testonly" .
  fallbacks=(sockcat-poll sockcat-dial)
fi

# 3. Listeners: one Python process holding a few ports of 127.0.0.1 open
# (one below 1024 when it can bind there), accepting and closing.
cat >"$tmp/listen.py" <<'EOF'
import os, selectors, socket, sys
sel = selectors.DefaultSelector()
ports = []
def listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    ports.append(s.getsockname()[1])
for p in (1023, 1022, 1021):
    try:
        listen(p)
        break
    except OSError:
        pass
for _ in range(3):
    listen(0)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(" ".join(str(p) for p in sorted(ports)) + "\n")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    for key, _ in sel.select():
        try:
            c, _ = key.fileobj.accept()
            c.close()
        except OSError:
            pass
EOF
python3 "$tmp/listen.py" "$tmp/ports" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/ports" ] && break; sleep 0.1; done
[ -s "$tmp/ports" ] || { echo "bench-scan.sh: the listeners did not start" >&2; exit 1; }
ours=$(cat "$tmp/ports")
echo "bench-scan.sh: listeners on 127.0.0.1 ports $ours; $runs runs per tool; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"

# 4. The tools. Each writes its open ports, one per line, to $2.
tools=(sockcat "${fallbacks[@]}")
[ "$nc_ok" = 1 ] && tools+=(nc)
have nmap && tools+=(nmap-sT)
have nmap && [ "$root" = 1 ] && tools+=(nmap-sS)

# run_tool TOOL OUT: one timed scan; prints the seconds it took.
run_tool() {
  local t=$1 out=$2 raw=$tmp/raw.$1 start end
  start=$EPOCHREALTIME
  case "$t" in
    sockcat) "$sc" -z 127.0.0.1 1-65535 >"$raw" || true ;;
    sockcat-poll | sockcat-dial)
      SOCKCAT_TESTONLY_SCAN_ENGINE=${t#sockcat-} "$tmp/sockcat-testonly" -z 127.0.0.1 1-65535 >"$raw" || true ;;
    nc) nc -z 127.0.0.1 1-65535 >/dev/null 2>&1 || true ;;
    nmap-sT) nmap -sT -T5 -n -Pn -p 1-65535 -oG "$raw" 127.0.0.1 >/dev/null ;;
    nmap-sS) nmap -sS -T5 -n -Pn -p 1-65535 -oG "$raw" 127.0.0.1 >/dev/null ;;
  esac
  end=$EPOCHREALTIME
  # nc -z prints nothing without -v; its open ports come from a second,
  # untimed run with -v, so the timed run does not pay for 65535 log lines.
  case "$t" in
    sockcat*) sed -n 's|^\([0-9]*\)/tcp open.*|\1|p' "$raw" >"$out" ;;
    nc) nc -zv 127.0.0.1 1-65535 2>&1 | sed -n 's/^Connection to [^ ]* \([0-9]*\) port .*succeeded.*/\1/p' >"$out" || true ;;
    nmap-*) grep -o '[0-9]*/open/' "$raw" | cut -d/ -f1 >"$out" || true ;;
  esac
  sort -n -o "$out" "$out"
  python3 -c "print(f'{$end - $start:.3f}')"
}

declare -A times
for ((r = 0; r < runs; r++)); do
  n=${#tools[@]}
  for ((k = 0; k < n; k++)); do
    t=${tools[$(((k + r) % n))]}
    s=$(run_tool "$t" "$tmp/open.$t.$r")
    times[$t]="${times[$t]:-} $s"
    printf 'run %d  %-8s %6ss  open: %s\n' "$((r + 1))" "$t" "$s" "$(tr '\n' ' ' <"$tmp/open.$t.$r")"
  done
done

# 5. No false "open": in a private network namespace nothing listens, so
# any open port is a probe that connected to itself (TCP simultaneous
# open) or to another probe. Needs root and iproute2.
declare -A false_open
if [ "$root" = 1 ] && have ip; then
  ns=sockcat-bench-scan-$$
  if ip netns add "$ns" 2>/dev/null; then
    ip -n "$ns" link set lo up
    for ((r = 0; r < runs; r++)); do
      n=$(ip netns exec "$ns" "$sc" -z 127.0.0.1 1-65535 | wc -l || true)
      false_open[sockcat]=$((${false_open[sockcat]:-0} + n))
      if [ "$nc_ok" = 1 ]; then
        n=$(ip netns exec "$ns" nc -zv 127.0.0.1 1-65535 2>&1 | grep -c succeeded || true)
        false_open[nc]=$((${false_open[nc]:-0} + n))
      fi
    done
    ip netns del "$ns"
  fi
fi

# 6. Medians, ratios, open ports.
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {if (NR%2) printf "%.3f", a[(NR+1)/2]; else printf "%.3f", (a[NR/2]+a[NR/2+1])/2}'; }
declare -A med
for t in "${tools[@]}"; do med[$t]=$(echo "${times[$t]}" | median); done
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

echo
echo "scan of 127.0.0.1 ports 1-65535, median of $runs runs"
printf '%-10s %10s %10s\n' tool seconds "vs nc"
for t in "${tools[@]}"; do
  rel=-
  [ -n "${med[nc]:-}" ] && rel="$(ratio "${med[$t]}" "${med[nc]}")x"
  printf '%-10s %10s %10s\n' "$t" "${med[$t]}" "$rel"
done

status=0
if [ -n "${med[nc]:-}" ]; then
  r=$(ratio "${med[sockcat]}" "${med[nc]}")
  if python3 -c "import sys; sys.exit(0 if $r <= 0.5 else 1)"; then
    echo "target sockcat <= 0.5x nc: met (${r}x)"
  else
    echo "target sockcat <= 0.5x nc: MISSED (${r}x)"; status=1
  fi
fi
for t in "${fallbacks[@]}"; do
  [ -n "${med[nc]:-}" ] || break
  r=$(ratio "${med[$t]}" "${med[nc]}")
  if python3 -c "import sys; sys.exit(0 if $r < 1.0 else 1)"; then
    echo "target $t < nc: met (${r}x; ${t#sockcat-} engine vs epoll: $(ratio "${med[$t]}" "${med[sockcat]}")x)"
  else
    echo "target $t < nc: MISSED (${r}x; ${t#sockcat-} engine vs epoll: $(ratio "${med[$t]}" "${med[sockcat]}")x)"
    [ "$t" = sockcat-poll ] && status=1 # the engine of macOS, where nc ships
  fi
done
if [ -n "${med[nmap-sS]:-}" ]; then
  r=$(ratio "${med[sockcat]}" "${med[nmap-sS]}")
  if python3 -c "import sys; sys.exit(0 if $r <= 1.0 else 1)"; then
    echo "target sockcat <= nmap -sS -T5: met (${r}x)"
  else
    echo "target sockcat <= nmap -sS -T5: MISSED (${r}x)"; status=1
  fi
fi

# Every tool must find every listener started here in every run; other
# ports of this host (other programs' listeners) may come and go between
# runs, so they are shown but only compared within a run.
for f in "$tmp"/open.*; do
  for p in $ours; do
    grep -qx "$p" "$f" || { echo "open ports: $(basename "$f" | cut -d. -f2) run $(( ${f##*.} + 1 )) missed listener port $p"; status=1; }
  done
done
# Within a run, every tool is compared with sockcat: ports only one of them
# found are listed (OpenBSD nc -z reports a port open now and then when its
# socket connected to itself; the namespace check below counts those).
same=1
for ((r = 0; r < runs; r++)); do
  for t in "${tools[@]}"; do
    [ "$t" = sockcat ] && continue
    extra=$(comm -13 "$tmp/open.sockcat.$r" "$tmp/open.$t.$r" | tr '\n' ' ')
    lack=$(comm -23 "$tmp/open.sockcat.$r" "$tmp/open.$t.$r" | tr '\n' ' ')
    if [ -n "$extra$lack" ]; then
      same=0
      echo "open ports, run $((r + 1)): $t ${extra:+also reports ${extra}}${lack:+misses ${lack}}(vs sockcat)"
    fi
  done
done
if [ "$same" = 1 ]; then
  echo "open ports: the same for every tool in every run: $(tr '\n' ' ' <"$tmp/open.sockcat.0")"
else
  echo "open ports found by sockcat, run 1: $(tr '\n' ' ' <"$tmp/open.sockcat.0")"
fi
if [ ${#false_open[@]} -gt 0 ]; then
  for t in "${!false_open[@]}"; do
    echo "false opens in an empty network namespace, $runs scans of 1-65535: $t ${false_open[$t]}"
  done
  [ "${false_open[sockcat]:-0}" = 0 ] || status=1
else
  echo "false opens: not measured (needs root and iproute2 for a network namespace)"
fi
exit $status
