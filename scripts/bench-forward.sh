#!/usr/bin/env bash
# Benchmarks `sockcat -l -k --forward` against a direct transfer and against
# the forwarders users reach for, all in one run on loopback:
#   direct   the client talks to the target itself (the ceiling)
#   sockcat  sockcat -l -k 127.0.0.1 P --forward 127.0.0.1:T
#   socat    socat TCP-LISTEN:P,fork,reuseaddr TCP:127.0.0.1:T
#   ncat     ncat -l -k 127.0.0.1 P -c 'ncat 127.0.0.1 T'
# (a) SIZE bytes from a file through each into a target writing to
#     /dev/null (MiB/s, the client waits until the target has closed);
# (b) CONNS sequential short connections through each (a Python client in
#     one process: connect, send a line, half-close, read to EOF); conn/s
#     (ncat: a tenth of CONNS, as it manages only a few per second).
# Rounds alternate the variants (order rotating); the table shows medians
# and ratios (throughput against direct, target >= 0.9; conn/s against
# socat's fork, target >= 3). The target and the client are sockcat and
# Python for every variant, so only the forwarder changes.
#
# Usage: scripts/bench-forward.sh [--runs N] [--size SIZE] [--conns N] [--bin PATH]
# Loopback only. Every process started is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 size=512M conns=300 bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift ;;
    --size) size=$2; shift ;;
    --conns) conns=$2; shift ;;
    --bin) bin=$2; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-forward.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
install_missing bench-forward socat=socat ncat=ncat python3=python3 >&2
bench_workspace forward
bench_binary bench-forward "$bin" >&2

have() { command -v "$1" >/dev/null 2>&1; }
variants=(direct sockcat)
have socat && variants+=(socat)
have ncat && variants+=(ncat)

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() {
  local i
  for i in $(seq 200); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench-forward: nothing listens on $1" >&2
  exit 1
}

# The target: a sockcat -k listener whose stdin is at EOF (every client gets
# FIN at once and is heard to its EOF) writing to /dev/null.
tport=$(freeport)
"$sc" -l -k -m 1000 127.0.0.1 "$tport" </dev/null >/dev/null 2>"$tmp/target.err" &
pids+=($!)
waitport "$tport"

# One forwarder per variant, each on its own port.
declare -A port
port[direct]=$tport
port[sockcat]=$(freeport)
"$sc" -l -k -m 1000 127.0.0.1 "${port[sockcat]}" --forward "127.0.0.1:$tport" </dev/null 2>"$tmp/sockcat.err" &
pids+=($!)
if have socat; then
  port[socat]=$(freeport)
  socat TCP-LISTEN:"${port[socat]}",bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:"$tport" 2>"$tmp/socat.err" &
  pids+=($!)
fi
if have ncat; then
  port[ncat]=$(freeport)
  ncat -l -k 127.0.0.1 "${port[ncat]}" -c "ncat 127.0.0.1 $tport" 2>"$tmp/ncat.err" &
  pids+=($!)
fi
for v in "${variants[@]}"; do waitport "${port[$v]}"; done

bytes=$(numfmt --from=iec "$size")
head -c "$bytes" /dev/zero >"$tmp/payload"
cat >"$tmp/conns.py" <<'EOF'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
t = time.perf_counter()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"hello\n")
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()
print(n / (time.perf_counter() - t))
EOF

# transfer V: MiB/s of one transfer of the payload through variant V.
transfer() {
  local t0 t1
  t0=$(date +%s.%N)
  "$sc" -w 5s 127.0.0.1 "${port[$1]}" <"$tmp/payload" >/dev/null
  t1=$(date +%s.%N)
  echo "$bytes $t0 $t1" | awk '{printf "%.1f\n", $1 / 1048576 / ($3 - $2)}'
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

declare -A mib cps
for r in $(seq "$runs"); do
  n=${#variants[@]}
  for i in $(seq 0 $((n - 1))); do
    v=${variants[$(((i + r) % n))]}
    transfer "$v" >>"$tmp/$v.mib"
    n_conns=$conns
    # ncat forks a shell and an ncat per connection, at a few per second:
    # a tenth of the connections gives its rate in bounded time.
    [ "$v" = ncat ] && n_conns=$(((conns + 9) / 10))
    python3 "$tmp/conns.py" "${port[$v]}" "$n_conns" >>"$tmp/$v.cps"
  done
  echo "bench-forward: round $r of $runs done" >&2
done
for v in "${variants[@]}"; do
  mib[$v]=$(median <"$tmp/$v.mib")
  cps[$v]=$(median <"$tmp/$v.cps")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
echo "## sockcat -l -k --forward ($size per transfer, $conns connections per run, medians of $runs alternating rounds, loopback)"
echo
echo "| variant | MiB/s | vs direct | conn/s | vs socat fork |"
echo "|---|---:|---:|---:|---:|"
for v in "${variants[@]}"; do
  vs=-
  [ -n "${cps[socat]:-}" ] && vs=$(ratio "${cps[$v]}" "${cps[socat]}")
  printf "| %s | %.0f | %s | %.0f | %s |\n" "$v" "${mib[$v]}" "$(ratio "${mib[$v]}" "${mib[direct]}")" "${cps[$v]}" "$vs"
done
