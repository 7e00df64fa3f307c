#!/usr/bin/env bash
# Benchmarks sockcat --broker against ncat --broker in the same run, on
# loopback only, with the Go load generator scripts/brokerload:
#
#   burst     CLIENTS clients each write LINES short lines at once while
#             reading; delivered lines/s until every client has every other
#             client's lines (target: >= 1.0x ncat)
#   lockstep  ROUNDS rounds; in each, every client sends one line and the
#             round ends when all the others have it (target: >= 20x ncat,
#             whose small writes wait on Nagle's algorithm)
#   idle      IDLE clients held open under -k (sockcat -k, ncat -k); RSS
#
# Every line is checked (zero loss, no duplicate, no reordering, none echoed
# to its sender). Peak RSS is VmHWM from /proc/PID/status of the server,
# started afresh for every run. The table shows medians of RUNS runs and the
# ratios. Standalone: builds sockcat and the load generator itself, installs
# ncat with apt-get when it is missing and we are root, and stops every
# process it started by PID. scripts/bench.sh calls it.
#
# Usage: scripts/bench-broker.sh
# Environment: RUNS (3), CLIENTS (50), LINES (1000), ROUNDS (100), IDLE (1000),
# BENCH_OUT (bench-out; binaries and logs go to $BENCH_OUT/broker).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-50}
LINES=${LINES:-1000}
ROUNDS=${ROUNDS:-100}
IDLE=${IDLE:-1000}
out=${BENCH_OUT:-bench-out}/broker
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)

# Every process started here, so that an early exit stops them all by PID.
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "bench-broker: building sockcat and brokerload" >&2
go build -o "$out/sockcat" .
go build -o "$out/brokerload" ./scripts/brokerload
load="$out/brokerload"

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
install_missing bench-broker ncat=ncat >&2
have_ncat=1
command -v ncat >/dev/null 2>&1 || { echo "bench-broker: ncat missing: sockcat only" >&2; have_ncat=0; }

SRV_PID=
SRV_ADDR=
# start_server KIND MODE: KIND sockcat|ncat, MODE broker|idle. Sets SRV_PID
# and SRV_ADDR. An idle (-k) server's stdin is a fifo opened read-write, so
# it never reaches EOF and every client stays open.
start_server() {
  local kind=$1 mode=$2 max=$((CLIENTS > IDLE ? CLIENTS : IDLE))
  max=$((max + 10))
  local flags=(--broker)
  [ "$mode" = idle ] && flags=(-k)
  rm -f "$tmp/addr" "$tmp/fifo"
  mkfifo "$tmp/fifo"
  if [ "$kind" = sockcat ]; then
    "$out/sockcat" -l "${flags[@]}" -m "$max" --addr-file "$tmp/addr" 127.0.0.1 0 \
      <>"$tmp/fifo" >/dev/null 2>>"$out/$kind-$mode.err" &
    SRV_PID=$!
    pids+=("$SRV_PID")
    local i
    for i in $(seq 200); do [ -s "$tmp/addr" ] && break; sleep 0.05; done
    SRV_ADDR=$(tr -d '\n' <"$tmp/addr")
  else
    local port
    port=$("$load" freeport)
    ncat -l "${flags[@]}" -m "$max" 127.0.0.1 "$port" \
      <>"$tmp/fifo" >/dev/null 2>>"$out/$kind-$mode.err" &
    SRV_PID=$!
    pids+=("$SRV_PID")
    SRV_ADDR=127.0.0.1:$port
    "$load" waitport -addr "$SRV_ADDR" -timeout 10s
  fi
}

# stop_server prints the server's peak RSS in KiB and stops it.
stop_server() {
  awk '/^VmHWM:/ {print $2}' "/proc/$SRV_PID/status"
  kill "$SRV_PID" 2>/dev/null || true
  wait "$SRV_PID" 2>/dev/null || true
}

# field NAME LINE: the value of NAME=… in a brokerload result line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

declare -A rate lost hwm
# run_load KIND TEST: RUNS runs, each on a fresh server.
run_load() {
  local kind=$1 test=$2 r line
  local flags=(-clients "$CLIENTS" -timeout 120s)
  [ "$test" = burst ] && flags+=(-lines "$LINES")
  [ "$test" = lockstep ] && flags+=(-rounds "$ROUNDS")
  for r in $(seq "$RUNS"); do
    start_server "$kind" broker
    line=$("$load" "$test" -addr "$SRV_ADDR" "${flags[@]}" 2>>"$out/$kind-$test.err" || true)
    echo "bench-broker: $kind $test run $r: $line" >&2
    if [ -n "$line" ]; then
      field rate "$line" >>"$tmp/$kind-$test.rate"
      echo "$(field lost "$line") $(field bad "$line")" | awk '{print $1 + $2}' >>"$tmp/$kind-$test.lost"
    else
      echo "bench-broker: $kind $test run $r failed; see $out/$kind-$test.err" >&2
      echo 1 >>"$tmp/$kind-$test.lost"
    fi
    stop_server >>"$tmp/$kind-$test.hwm"
  done
  rate[$kind-$test]=$(median <"$tmp/$kind-$test.rate")
  lost[$kind-$test]=$(awk '{s += $1} END {print s + 0}' "$tmp/$kind-$test.lost")
  hwm[$kind-$test]=$(sort -g "$tmp/$kind-$test.hwm" | tail -1)
}

# run_idle KIND: IDLE clients held under -k; RSS with them connected.
run_idle() {
  local kind=$1 r ready
  for r in $(seq "$RUNS"); do
    start_server "$kind" idle
    : >"$tmp/idle.out"
    "$load" idle -addr "$SRV_ADDR" -clients "$IDLE" -hold 2s >"$tmp/idle.out" 2>>"$out/$kind-idle.err" &
    local lpid=$!
    pids+=("$lpid")
    for _ in $(seq 600); do grep -q '^ready' "$tmp/idle.out" && break; sleep 0.05; done
    ready=$(awk '/^ready/ {print $2}' "$tmp/idle.out")
    awk '/^VmRSS:/ {print $2}' "/proc/$SRV_PID/status" >>"$tmp/$kind-idle.rss"
    wait "$lpid" || true
    stop_server >/dev/null
    echo "bench-broker: $kind idle run $r: ${ready:-0} of $IDLE clients held, RSS $(tail -1 "$tmp/$kind-idle.rss") KiB" >&2
  done
  rate[$kind-idle]=$(median <"$tmp/$kind-idle.rss")
}

kinds=(sockcat)
[ "$have_ncat" = 1 ] && kinds+=(ncat)
for kind in "${kinds[@]}"; do
  run_load "$kind" burst
  run_load "$kind" lockstep
  run_idle "$kind"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || b == "-" || b + 0 == 0) print "-"; else printf "%.1fx", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "" || k == "-") print "-"; else printf "%.1f MiB", k / 1024 }'; }
num() { awk -v v="$1" 'BEGIN { if (v == "" || v == "-") print "-"; else printf "%.0f", v }'; }

echo
echo "## sockcat --broker vs ncat --broker ($CLIENTS clients, medians of $RUNS runs, loopback)"
echo
printf '| %-38s | %14s | %14s | %8s | %s |\n' test sockcat ncat ratio target
printf '|%s|%s|%s|%s|%s|\n' "----------------------------------------" "----------------" "----------------" "----------" "--------"
for test in burst lockstep; do
  s=${rate[sockcat-$test]-}
  n=${rate[ncat-$test]-}
  target=">= 1.0x"
  [ "$test" = lockstep ] && target=">= 20x"
  label="$test: delivered lines/s"
  printf '| %-38s | %14s | %14s | %8s | %s |\n' "$label" "$(num "$s")" "$(num "$n")" "$(ratio "$s" "$n")" "$target"
  printf '| %-38s | %14s | %14s | %8s | %s |\n' "$test: lines lost or bad (all runs)" "${lost[sockcat-$test]-}" "${lost[ncat-$test]--}" "" "0"
  printf '| %-38s | %14s | %14s | %8s | %s |\n' "$test: peak RSS (VmHWM, max)" "$(mib "${hwm[sockcat-$test]-}")" "$(mib "${hwm[ncat-$test]-}")" "" "<= 20 MiB"
done
printf '| %-38s | %14s | %14s | %8s | %s |\n' "-k, $IDLE idle clients: RSS" "$(mib "${rate[sockcat-idle]-}")" "$(mib "${rate[ncat-idle]-}")" "" "reported"
echo
echo "Logs and binaries: $out" >&2
