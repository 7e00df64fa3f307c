#!/usr/bin/env bash
# Benchmarks the quick UDP listener, `sockcat -l -u`, against OpenBSD
# `nc -l -u` under a flood, all in one invocation, the tools alternating run
# by run (the order rotates each run). The Go sender scripts/udpflood sends
# N numbered datagrams of SIZE bytes as fast as the kernel takes them to the
# listener on 127.0.0.1; the listener's stdout goes through a pipe to the
# counter (udpflood count), which counts the whole datagrams of the flood
# and the places where the output holds something else (sockcat must have
# none: SPEC 4 never splits a datagram; nc's are reported). It prints, per tool, the medians of datagrams/s
# received (received / the sender's time), the loss, the ratios to nc, and
# "misframed": over all runs, the places where the output was not whole
# datagrams.
#
# Usage: scripts/bench-udp.sh [--quick] [--runs N] [--count N] [--size B]
#                             [--bin PATH]
#   --quick     smoke run: 100000 datagrams (default 500000), 5 runs
#   --runs N    runs per tool (default 5, at least 3 for medians)
#   --count N   datagrams per run
#   --size B    datagram size (default 1400)
#   --bin PATH  benchmark this sockcat binary instead of building one
# Loopback only (127.0.0.1). Every process started is stopped by PID on
# exit; every run is bounded (the sender stops after 60s, the listener is
# stopped 1s after the sender ends).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 count=500000 size=1400 bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) count=100000 ;;
    --runs) runs=$2; shift ;;
    --count) count=$2; shift ;;
    --size) size=$2; shift ;;
    --bin) bin=$2; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-udp.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for v in "$runs" "$count" "$size"; do
  case "$v" in '' | *[!0-9]*) echo "bench-udp.sh: $v: want a number" >&2; exit 2 ;; esac
done
[ "$runs" -ge 3 ] || { echo "bench-udp.sh: --runs $runs: want at least 3 (medians)" >&2; exit 2; }
[ "$size" -ge 8 ] && [ "$size" -le 65000 ] || { echo "bench-udp.sh: --size $size: want 8..65000" >&2; exit 2; }

# 1. Tools.
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
install_missing bench-udp.sh nc=netcat-openbsd
nc_ok=0
if command -v nc >/dev/null 2>&1 && readlink -f "$(command -v nc)" | grep -q openbsd; then nc_ok=1; fi
[ "$nc_ok" = 1 ] || echo "bench-udp.sh: OpenBSD nc not found: its row and the ratios are skipped"

# 2. Workspace; everything started is stopped by PID.
bench_workspace bench-udp
bench_binary bench-udp.sh "$bin"
go build -o "$tmp/udpflood" ./scripts/udpflood
flood=$tmp/udpflood

# wait_udp PORT: waits (at most 5s) until a UDP socket is bound to
# 127.0.0.1:PORT (or the wildcard), without sending to it.
wait_udp() {
  local hex i
  hex=$(printf '%04X' "$1")
  for ((i = 0; i < 500; i++)); do
    if awk -v p=":$hex" '$2 ~ p"$" { found = 1 } END { exit !found }' /proc/net/udp /proc/net/udp6 2>/dev/null; then
      return 0
    fi
    sleep 0.01
  done
  echo "bench-udp.sh: nothing is bound to UDP port $1 after 5s" >&2
  return 1
}

# field NAME LINE: the value of NAME=... in a udpflood result line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# one TOOL: one flood against TOOL's listener; prints "rate loss-percent".
one() {
  local tool=$1 port lpid cpid sent got secs
  port=$("$flood" freeport)
  rm -f "$tmp/fifo"
  mkfifo "$tmp/fifo"
  "$flood" count -size "$size" -n "$count" <"$tmp/fifo" >"$tmp/count.out" &
  cpid=$!
  pids+=("$cpid")
  case "$tool" in
    sockcat) timeout 120 "$sc" -d -l -u 127.0.0.1 "$port" </dev/null >"$tmp/fifo" 2>"$tmp/listener.err" & ;;
    nc) timeout 120 nc -d -l -u 127.0.0.1 "$port" </dev/null >"$tmp/fifo" 2>"$tmp/listener.err" & ;;
  esac
  lpid=$!
  pids+=("$lpid")
  wait_udp "$port"
  sent=$(timeout 90 "$flood" send -addr "127.0.0.1:$port" -n "$count" -size "$size" -timeout 60s)
  sleep 1 # let the listener drain its socket buffer
  kill "$lpid" 2>/dev/null || true
  wait "$lpid" 2>/dev/null || true
  if ! wait "$cpid"; then
    echo "bench-udp.sh: $tool: the counter failed: $(cat "$tmp/count.out")" >&2
    cat "$tmp/listener.err" >&2
    exit 1
  fi
  pids=("${pids[@]:0:${#pids[@]}-2}")
  got=$(cat "$tmp/count.out")
  secs=$(field secs "$sent")
  if [ "$tool" = sockcat ] && [ "$(field bad "$got")" != 0 ]; then
    echo "bench-udp.sh: sockcat wrote something that is not whole datagrams: $got" >&2
    exit 1
  fi
  awk -v g="$(field distinct "$got")" -v s="$(field sent "$sent")" -v t="$secs" -v bad="$(field bad "$got")" 'BEGIN {
    printf "%.0f %.2f %d\n", g / t, 100 * (s - g) / s, bad }'
}

# median FILE COLUMN
median() {
  awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

tools=(sockcat)
[ "$nc_ok" = 1 ] && tools+=(nc)
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo
echo "UDP listener flood, $(date -u '+%Y-%m-%d %H:%M UTC'): $count x $size B datagrams to 127.0.0.1, $runs runs per tool, alternating"
echo "machine: nproc $(nproc), kernel $(uname -r), net.core.rmem_default $(cat /proc/sys/net/core/rmem_default 2>/dev/null || echo ?), rmem_max $(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo ?), load $(load)"
for ((r = 0; r < runs; r++)); do
  k=${#tools[@]}
  for ((i = 0; i < k; i++)); do
    t=${tools[$(((i + r) % k))]}
    one "$t" >>"$tmp/res.$t"
  done
done
printf '%-22s %14s %8s %14s %10s   %s\n' tool "median dgram/s" "vs nc" "median loss %" "misframed" "runs dgram/s"
nc_rate=""
[ -f "$tmp/res.nc" ] && nc_rate=$(median "$tmp/res.nc" 1)
for t in "${tools[@]}"; do
  rate=$(median "$tmp/res.$t" 1)
  loss=$(median "$tmp/res.$t" 2)
  name=$t
  [ "$t" = sockcat ] && name="sockcat -l -u"
  [ "$t" = nc ] && name="nc -l -u (OpenBSD)"
  awk -v n="$name" -v r="$rate" -v l="$loss" -v nc="$nc_rate" -v all="$(awk '{ printf "%s ", $1 }' "$tmp/res.$t")" \
    -v bad="$(awk '{ s += $3 } END { print s + 0 }' "$tmp/res.$t")" 'BEGIN {
    printf "%-22s %14.0f %8s %14.2f %10d   %s\n", n, r, nc == "" ? "-" : sprintf("%.2fx", r / nc), l, bad, all }'
done
echo "[load after: $(load)]"
if [ -n "$nc_rate" ]; then
  awk -v r="$(median "$tmp/res.sockcat" 1)" -v nc="$nc_rate" -v l="$(median "$tmp/res.sockcat" 2)" -v nl="$(median "$tmp/res.nc" 2)" 'BEGIN {
    printf "target %-40s %6.2fx >= 1.50x  %s\n", "UDP flood received vs nc -l -u", r / nc, (r / nc >= 1.5) ? "MET" : "NOT MET"
    printf "target %-40s %6.2f%% < %.2f%%  %s\n", "loss below nc'"'"'s", l, nl, (l < nl) ? "MET" : "NOT MET" }'
fi
