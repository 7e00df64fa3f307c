#!/usr/bin/env bash
# Benchmarks sockcat --p2p across the lab's two MASQUERADE routers
# (scripts/p2plab.sh) against plain TCP across the same routers, through a
# port forwarded by hand on router B (DNAT), in the same run:
#
#   throughput  SIZE bytes from host A to host B; the receiver's
#               --stats-json receive rate; median of RUNS runs
#               (target: p2p >= 0.5x TCP)
#   first byte  from the moment both sides are running (the creator is
#               waiting with its code, the joiner starts; for TCP the
#               listener waits, the client starts) to the first byte on the
#               receiver's stdout; median of RUNS runs
#
# Each is measured on the bare veth links and with both routers' uplinks
# shaped to RATE by tbf (a home connection; this kernel has no netem, so no
# added delay). Needs root, ip, iptables, tc, turnserver (coturn). Builds
# sockcat, stops every process it started by PID and deletes the lab (trap).
#
# Usage: scripts/bench-p2p.sh
# Environment: RUNS (5), SIZE (64M as bytes: 67108864), RATE (200mbit).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

RUNS=${RUNS:-5}
SIZE=${SIZE:-67108864}
RATE=${RATE:-200mbit}
P=scp2p-$$-bench

if [ "$(id -u)" != 0 ]; then echo "bench-p2p: needs root (network namespaces); skipped"; exit 0; fi
install_missing bench-p2p turnserver=coturn iptables=iptables tc=iproute2

bench_workspace p2p
trap 'bench_cleanup; bash scripts/p2plab.sh down $P' EXIT
bench_binary bench-p2p "${SOCKCAT:-}"
export SOCKCAT_NO_EXTERNAL=1
ns() { ip netns exec "$P-$1" "${@:2}"; }

bash scripts/p2plab.sh up "$P"
ns pub turnserver -n -L 203.0.113.1 -p 3478 --no-cli --no-tls --no-dtls --stun-only \
  --log-file stdout --simple-log --pidfile "$tmp/turn.pid" >"$tmp/turn.log" 2>&1 &
pids+=($!)
ns pub "$sc" rendezvous 203.0.113.1 7000 2>"$tmp/rv.log" &
pids+=($!)
# the TCP baseline: router B forwards 203.0.113.20:9000 to host B
ns rb iptables -t nat -A PREROUTING -i wan -p tcp --dport 9000 -j DNAT --to-destination 10.0.2.2:9000
ns rb iptables -I FORWARD -i wan -p tcp -d 10.0.2.2 --dport 9000 -j ACCEPT
for _ in $(seq 100); do
  ns pub ss -Hltn 'sport = :7000' | grep -q . && ns pub ss -Hlun 'sport = :3478' | grep -q . && break
  sleep 0.05
done
head -c "$SIZE" /dev/urandom >"$tmp/data"
export SOCKCAT_STUN=203.0.113.1:3478
RV=sockcat://203.0.113.1:7000

now() { date +%s%N; }

# first_byte_to FILE: copy stdin to /dev/null, writing the time of the first byte to FILE
first_byte_to() { head -c1 >/dev/null; now >"$1"; cat >/dev/null; }

# run_tcp IN: one transfer; prints "RATE_BYTES_PER_S FIRST_BYTE_MS"
run_tcp() {
  rm -f "$tmp/code" "$tmp/fb" "$tmp/rs"
  ns hb "$sc" -l --addr-file "$tmp/addr" --stats-json 9000 2>"$tmp/rs" | first_byte_to "$tmp/fb" &
  local lp=$!
  for _ in $(seq 200); do [ -s "$tmp/addr" ] && break; sleep 0.01; done
  rm -f "$tmp/addr"
  local t0; t0=$(now)
  ns ha "$sc" 203.0.113.20 9000 <"$1" 2>"$tmp/ss"
  wait $lp
  echo "$(rate "$tmp/rs") $(( ($(cat "$tmp/fb") - t0) / 1000000 ))"
}

# run_p2p IN: the same over --p2p (creator on B receives, joiner on A sends)
run_p2p() {
  rm -f "$tmp/code" "$tmp/fb" "$tmp/rs"
  ns hb "$sc" --p2p --rendezvous $RV --code-file "$tmp/code" --stats-json </dev/null 2>"$tmp/rs" | first_byte_to "$tmp/fb" &
  local cp=$!
  for _ in $(seq 500); do [ -s "$tmp/code" ] && break; sleep 0.01; done
  local t0; t0=$(now)
  ns ha "$sc" -v --p2p --rendezvous $RV "$(cat "$tmp/code")" <"$1" 2>"$tmp/ss"
  wait $cp
  grep -q 'path direct' "$tmp/ss" || { echo "bench-p2p: not a direct path:" >&2; cat "$tmp/ss" >&2; exit 1; }
  echo "$(rate "$tmp/rs") $(( ($(cat "$tmp/fb") - t0) / 1000000 ))"
}

rate() { python3 -c 'import json,sys; print(int(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["receive_bytes_per_second"]))' "$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() { # LABEL
  local tr=() tf=() pr=() pf=() i r
  for i in $(seq "$RUNS"); do
    r=$(run_tcp "$tmp/data"); tr+=("${r% *}"); tf+=("${r#* }")
    r=$(run_p2p "$tmp/data"); pr+=("${r% *}"); pf+=("${r#* }")
  done
  local mtr mpr mtf mpf
  mtr=$(printf '%s\n' "${tr[@]}" | median); mpr=$(printf '%s\n' "${pr[@]}" | median)
  mtf=$(printf '%s\n' "${tf[@]}" | median); mpf=$(printf '%s\n' "${pf[@]}" | median)
  printf '| %s | %.1f MiB/s | %.1f MiB/s | %.2fx | %d ms | %d ms |\n' "$1" \
    "$(echo "$mtr/1048576" | bc -l)" "$(echo "$mpr/1048576" | bc -l)" "$(echo "$mpr/$mtr" | bc -l)" "$mtf" "$mpf"
}

echo "bench-p2p: $RUNS runs of $SIZE bytes A -> B, medians; nproc $(nproc), load $(cut -d" " -f1-3 /proc/loadavg)"
echo "| link | TCP (DNAT) | --p2p (QUIC, direct) | ratio | TCP first byte | --p2p first byte |"
echo "|---|---|---|---|---|---|"
measure "veth, unshaped"
for r in ra rb; do ns $r tc qdisc add dev wan root tbf rate "$RATE" burst 256kb latency 50ms; done
measure "uplinks shaped to $RATE"
