#!/usr/bin/env bash
# Measures what the data views cost: throughput of one sockcat client
# sending SIZE bytes of stdin from a regular file to a sockcat listener on
# loopback that writes to /dev/null, for
#   raw          no view (the sendfile/splice path)
#   utf-16le     --encoding utf-16le on both ends (UTF-8 text in, encoded,
#                decoded back to UTF-8 on the listener)
#   hex          --encoding hex on both ends (hex text in, decoded to bytes,
#                printed as hex again by the listener)
#   sha256       --sha256 on both ends
#   progress     -P on the client, whose stderr is a terminal (run under
#                script(1) so the meter really draws)
#   raw-pty      raw again under script(1): the pty alone, for comparison
# Cases alternate run by run (the order rotates), and each row shows the
# median of the runs and its throughput as a ratio to raw in the same run.
# Throughput counts the client's stdin bytes.
#
# Usage: scripts/bench-views.sh [--quick] [--runs N] [--size SIZE] [--bin PATH]
#   --quick     smoke run: 64M, 3 runs (default 512M, 5 runs)
#   --runs N    runs per case (at least 3)
#   --size S    stdin bytes per transfer, suffix K, M or G (powers of 1024)
#   --bin PATH  benchmark this sockcat binary instead of building one
# Loopback only (127.0.0.1, port 0). Every process started is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 size=512M bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) runs=3 size=64M ;;
    --runs) runs=$2; shift ;;
    --size) size=$2; shift ;;
    --bin) bin=$2; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-views.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$runs" in '' | *[!0-9]*) echo "bench-views.sh: --runs $runs: want a number" >&2; exit 2 ;; esac
[ "$runs" -ge 3 ] || { echo "bench-views.sh: --runs must be at least 3 for a median" >&2; exit 2; }
n=${size%[KkMmGg]} mult=1
case "$size" in *[Kk]) mult=1024 ;; *[Mm]) mult=$((1 << 20)) ;; *[Gg]) mult=$((1 << 30)) ;; esac
case "$n" in '' | *[!0-9]*) echo "bench-views.sh: bad size $size" >&2; exit 2 ;; esac
nbytes=$((n * mult))
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
command -v python3 >/dev/null || { echo "bench-views.sh: python3 is required to write the test data" >&2; exit 1; }
have_script=0
command -v script >/dev/null && have_script=1

bench_workspace bench-views

bench_binary bench-views.sh "$bin"

# Test data: UTF-8 text (ASCII with some two-, three- and four-byte
# characters, whole lines) and hex text, each exactly nbytes long.
python3 - "$tmp" "$nbytes" <<'EOF'
import os, sys
tmp, n = sys.argv[1], int(sys.argv[2])
line = "The quick brown fox jumps over the lazy dog, café Grüße 日本語 😀 #%05d\n"
block = "".join(line % i for i in range(1000)).encode()
with open(os.path.join(tmp, "text"), "wb") as f:
    left = n
    while left >= len(block):
        f.write(block); left -= len(block)
    f.write(b"x" * (left - 1) + b"\n" if left else b"")
row = os.urandom(32).hex().encode() + b"\n"          # 65 bytes per line
with open(os.path.join(tmp, "hex"), "wb") as f:
    chunk = row * 16384
    left = n
    while left >= len(chunk):
        f.write(chunk); left -= len(chunk)
    whole = left // len(row) * len(row)
    f.write(row * (whole // len(row)))
    rest = left - whole
    f.write(b"0" * (rest - rest % 2) + (b"\n" if rest % 2 else b""))
EOF

now() { date +%s%N; }

# waitaddr FILE: prints the port a listener wrote to FILE (at most 10s).
waitaddr() {
  local i a
  for ((i = 0; i < 1000; i++)); do
    a=$(head -n1 "$1" 2>/dev/null || true)
    if [[ "$a" =~ :([0-9]+)$ ]]; then
      echo "${BASH_REMATCH[1]}"
      return 0
    fi
    sleep 0.01
  done
  echo "bench-views.sh: listener did not write $1 after 10s" >&2
  return 1
}

# run CASE: one timed transfer; prints seconds.
run() {
  local c=$1 data=$tmp/text srv=() cli=() pty=0 t0 t1 port spid rc=0
  case "$c" in
    raw) ;;
    utf-16le) srv=(--encoding utf-16le) cli=(--encoding utf-16le) ;;
    hex) srv=(--encoding hex) cli=(--encoding hex) data=$tmp/hex ;;
    sha256) srv=(--sha256) cli=(--sha256) ;;
    progress) cli=(-P) pty=1 ;;
    raw-pty) pty=1 ;;
  esac
  rm -f "$tmp/addr"
  timeout 600 "$sc" -l --addr-file "$tmp/addr" "${srv[@]}" 127.0.0.1 0 </dev/null >/dev/null 2>"$tmp/srv.err" &
  spid=$!
  pids+=("$spid")
  port=$(waitaddr "$tmp/addr")
  t0=$(now)
  if [ "$pty" = 1 ]; then
    timeout 600 script -q -e -c "'$sc' ${cli[*]} 127.0.0.1 $port <'$data' >/dev/null" "$tmp/screen" </dev/null >/dev/null || rc=$?
  else
    timeout 600 "$sc" "${cli[@]}" 127.0.0.1 "$port" <"$data" >/dev/null 2>"$tmp/cli.err" || rc=$?
  fi
  wait "$spid" || rc=$?
  t1=$(now)
  if [ "$rc" -ne 0 ]; then
    echo "bench-views.sh: case $c failed (exit $rc)" >&2
    cat "$tmp/srv.err" "$tmp/cli.err" >&2 2>/dev/null || true
    exit 1
  fi
  if [ "$c" = progress ] && ! grep -q '100%' "$tmp/screen"; then
    echo "bench-views.sh: -P drew no meter under script(1)" >&2
    exit 1
  fi
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}

cases=(raw utf-16le hex sha256)
if [ "$have_script" = 1 ]; then
  cases+=(progress raw-pty)
else
  echo "bench-views.sh: script(1) missing: the -P rows are skipped"
fi
echo "bench-views.sh: $runs runs of ${size} ($nbytes bytes of stdin) per case, loopback, $(nproc) CPUs"
declare -A times
for ((r = 0; r < runs; r++)); do
  k=${#cases[@]}
  for ((i = 0; i < k; i++)); do
    c=${cases[$(((i + r) % k))]}
    times[$c]+="$(run "$c") "
  done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
raw=$(echo "${times[raw]}" | median)
printf '%-10s %12s %12s %10s   %s\n' case median_s MiB/s vs_raw runs_s
for c in "${cases[@]}"; do
  m=$(echo "${times[$c]}" | median)
  awk -v c="$c" -v m="$m" -v raw="$raw" -v n="$nbytes" -v all="${times[$c]}" \
    'BEGIN { printf "%-10s %12.3f %12.1f %10.2f   %s\n", c, m, n / m / 1048576, raw / m, all }'
done
