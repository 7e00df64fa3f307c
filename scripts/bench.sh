#!/usr/bin/env bash
# Benchmarks sockcat against OpenBSD nc, ncat, socat and iperf3 on loopback,
# all in one invocation, tools alternating run by run (the order rotates each
# run), and prints medians and ratios:
#   (a) SIZE bytes from a regular file into a listener writing to /dev/null
#   (b) SIZE bytes from a pipe (dd from /dev/zero) into such a listener
#   (c) CONNS sequential short connections: connect, send a line, read the
#       reply until the server closes (per-connection cost, process start
#       included, against one shared Python reply server)
#   (d) start-up: `sockcat --version` against a Go hello world and `nc -h`
#       (hyperfine, medians)
# (c) and (d) also measure a release-style build of the same source
# ("sockcat-rel": CGO_ENABLED=0, -trimpath, -ldflags='-s -w', -tags
# urfave_cli_no_docs, which leaves out the CLI library's unused markdown
# man-page generator), unless --bin is given.
# Each tool is both client and listener of its own transfer; iperf3 sends
# from memory and its own receiver-side report is used. Then it records the
# zero-copy evidence (strace -c syscall counts for sockcat) and runs the
# other benchmark scripts (bench-broker.sh, bench-views.sh, bench-scan.sh)
# when they exist.
#
# Usage: scripts/bench.sh [--quick] [--runs N] [--size SIZE] [--conns N]
#                         [--bin PATH] [--no-throughput] [--no-strace]
#                         [--no-others]
#   --quick     smoke run: 256M transfers, 50 connections (default 2G, 500)
#   --runs N    runs per tool and case (default 5, at least 5 for medians)
#   --size S    transfer size for dd-style suffixes K, M, G (powers of 1024)
#   --conns N   short connections per run
#   --bin PATH  benchmark this sockcat binary instead of building one
#   --no-throughput  skip (a) and (b) and the strace evidence
# Loopback only (127.0.0.1). Every process started is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 runs=5 size=2G conns=500 do_strace=1 do_others=1 do_tput=1 bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 size=256M conns=50 ;;
    --runs) runs=$2; shift ;;
    --size) size=$2; shift ;;
    --conns) conns=$2; shift ;;
    --bin) bin=$2; shift ;;
    --no-strace) do_strace=0 ;;
    --no-others) do_others=0 ;;
    --no-throughput) do_tput=0 do_strace=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$runs" in '' | *[!0-9]*) echo "bench.sh: --runs $runs: want a number" >&2; exit 2 ;; esac
[ "$runs" -ge 5 ] || echo "bench.sh: note: $runs runs per case; medians want at least 5"
case "$conns" in '' | *[!0-9]*) echo "bench.sh: --conns $conns: want a number" >&2; exit 2 ;; esac

# bytes SIZE: 2G -> 2147483648.
bytes() {
  local n=${1%[KkMmGg]} mult=1
  case "$1" in *[Kk]) mult=1024 ;; *[Mm]) mult=$((1 << 20)) ;; *[Gg]) mult=$((1 << 30)) ;; esac
  case "$n" in '' | *[!0-9]*) echo "bench.sh: bad size $1" >&2; exit 2 ;; esac
  echo $((n * mult))
}
nbytes=$(bytes "$size")
[ $((nbytes % (1 << 20))) -eq 0 ] || { echo "bench.sh: --size must be a multiple of 1M" >&2; exit 2; }
nmib=$((nbytes >> 20))
# Every single client or server gets at most this long.
limit=$((quick ? 60 : 300))

# 1. Tools.
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
install_missing bench.sh nc=netcat-openbsd ncat=ncat socat=socat iperf3=iperf3 strace=strace python3=python3 hyperfine=hyperfine
have() { command -v "$1" >/dev/null 2>&1; }
have python3 || { echo "bench.sh: python3 is required (ports, reply server, iperf3 JSON)" >&2; exit 1; }
if readlink -f "$(command -v nc 2>/dev/null || echo /)" | grep -q openbsd; then nc_ok=1; else nc_ok=0; fi

# 2. Workspace, cleanup by PID.
bench_workspace bench

bench_binary bench.sh "$bin"
# The portable copy path of macOS, FreeBSD and Windows (a -B sized buffer,
# no F_SETPIPE_SZ), timed on this machine through a benchmark-only build that
# reads SOCKCAT_TESTONLY_PORTABLE_COPY (release builds ignore it); and the
# release-style build (see the header). Neither when a binary was given.
portable=0
rel_flags=(-trimpath -ldflags=-s\ -w -tags urfave_cli_no_docs)
screl=""
if [ -z "$bin" ]; then
  go build -tags sockcat_testonly -o "$tmp/sockcat-testonly" .
  portable=1
  screl=$tmp/sockcat-rel
  CGO_ENABLED=0 go build "${rel_flags[@]}" -o "$screl" .
fi

# freeport prints a TCP port on 127.0.0.1 that was free a moment ago.
freeport() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_listen PORT waits (at most 5s) until something listens on 127.0.0.1:PORT,
# without connecting (a probe would use up a one-shot listener).
wait_listen() {
  local hex i
  hex=$(printf '%04X' "$1")
  for ((i = 0; i < 500; i++)); do
    if awk -v p=":$hex" '$2 ~ p"$" && $4 == "0A" { found = 1 } END { exit !found }' \
      /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
      return 0
    fi
    sleep 0.01
  done
  echo "bench.sh: nothing listens on port $1 after 5s" >&2
  return 1
}

now() { date +%s%N; }

# bg CMD...: starts CMD in the background under timeout; sets $bgpid.
bg() {
  timeout "$limit" "$@" &
  bgpid=$!
  pids+=("$bgpid")
}

# forget PID: drops a reaped PID from the cleanup list (it may be reused).
forget() {
  local p keep=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}

# reap PID NAME: waits for a background job and fails loudly if it failed.
reap() {
  local rc=0
  wait "$1" || rc=$?
  forget "$1"
  if [ "$rc" -ne 0 ]; then
    echo "bench.sh: $2 exited $rc; its stderr:" >&2
    cat "$tmp/server.err" >&2 || true
    exit 1
  fi
}

# server TOOL PORT: a listener on 127.0.0.1:PORT that writes what it
# receives to /dev/null.
server() {
  local port=$2
  case "$1" in
    sockcat) bg "$sc" -l 127.0.0.1 "$port" ;;
    sockcat-portable) SOCKCAT_TESTONLY_PORTABLE_COPY=1 bg "$tmp/sockcat-testonly" -l 127.0.0.1 "$port" ;;
    nc) bg nc -l 127.0.0.1 "$port" ;;
    ncat) bg ncat -l 127.0.0.1 "$port" ;;
    socat) bg socat -u "TCP4-LISTEN:$port,bind=127.0.0.1,reuseaddr" STDOUT ;;
  esac
}

# client TOOL PORT: sends its stdin to 127.0.0.1:PORT, reads until the peer closes.
client() {
  local port=$2
  case "$1" in
    sockcat) timeout "$limit" "$sc" 127.0.0.1 "$port" ;;
    sockcat-portable) SOCKCAT_TESTONLY_PORTABLE_COPY=1 timeout "$limit" "$tmp/sockcat-testonly" 127.0.0.1 "$port" ;;
    sockcat-rel) timeout "$limit" "$screl" 127.0.0.1 "$port" ;;
    nc) timeout "$limit" nc -N 127.0.0.1 "$port" ;;
    ncat) timeout "$limit" ncat 127.0.0.1 "$port" ;;
    socat) timeout "$limit" socat - "TCP4:127.0.0.1:$port" ;;
  esac
}

# source KIND: writes the payload to stdout ("pipe" case) or nothing ("file").
payload_pipe() { dd if=/dev/zero bs=1M count="$nmib" status=none; }

# transfer TOOL KIND: one timed transfer; prints seconds.
transfer() {
  local tool=$1 kind=$2 port t0 t1
  port=$(freeport)
  server "$tool" "$port" </dev/null >/dev/null 2>"$tmp/server.err"
  local spid=$bgpid
  wait_listen "$port"
  t0=$(now)
  if [ "$kind" = file ]; then
    client "$tool" "$port" <"$data" >/dev/null
  else
    payload_pipe | client "$tool" "$port" >/dev/null
  fi
  reap "$spid" "$tool listener"
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}

# iperf_run: iperf3 memory -> socket; prints "own-seconds wall-seconds".
iperf_run() {
  local port t0 t1
  port=$(freeport)
  bg iperf3 -s -1 -B 127.0.0.1 -p "$port" </dev/null >/dev/null 2>"$tmp/server.err"
  local spid=$bgpid
  wait_listen "$port"
  t0=$(now)
  timeout "$limit" iperf3 -c 127.0.0.1 -p "$port" -n "$nbytes" -J >"$tmp/iperf.json"
  reap "$spid" "iperf3 server"
  t1=$(now)
  python3 - "$tmp/iperf.json" "$nbytes" "$t0" "$t1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
bps = r["end"]["sum_received"]["bits_per_second"]
n, t0, t1 = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print("%.6f %.6f" % (n / (bps / 8), (t1 - t0) / 1e9))
EOF
}

# median FILE: the median of the numbers in FILE, one per line.
median() {
  sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minmax() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.6f %.6f\n", lo, hi }'; }

res=$tmp/results
mkdir -p "$res"
tools=(sockcat)
[ "$portable" = 1 ] && tools+=(sockcat-portable)
[ "$nc_ok" = 1 ] && tools+=(nc) || echo "bench.sh: nc is not OpenBSD netcat; nc rows skipped"
have ncat && tools+=(ncat)
have socat && tools+=(socat)

# rotate N WORDS...: the words rotated left by N, so no tool always goes first.
rotate() {
  local n=$1
  shift
  local a=("$@") k=${#a[@]} i
  for ((i = 0; i < k; i++)); do printf '%s\n' "${a[$(((i + n) % k))]}"; done
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

echo
echo "sockcat benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: nproc $(nproc), kernel $(uname -r), $(go version | cut -d' ' -f3), load $(load)"
echo "tools: $(nc -h 2>&1 | head -1 || true); $(ncat --version 2>&1 | head -1 || true); $(socat -V 2>/dev/null | sed -n 2p || true); $(iperf3 --version 2>/dev/null | head -1 || true)"
echo "runs: $runs per tool and case, alternating; transfer size $size ($nbytes bytes); $conns connections per run"

# 3. Throughput: file and pipe.
data=$tmp/data.bin
if [ "$do_tput" = 1 ]; then
  head -c "$nbytes" /dev/urandom >"$data"
  cat "$data" >/dev/null # into the page cache
fi

throughput_table() {
  local kind=$1 title=$2 t m lo hi own wall
  echo
  echo "($3) $title  [load before: $(load)]"
  local list=("${tools[@]}")
  have iperf3 && list+=(iperf3)
  for ((r = 0; r < runs; r++)); do
    for t in $(rotate "$r" "${list[@]}"); do
      if [ "$t" = iperf3 ]; then
        iperf_run >"$tmp/iperf.out"
        read -r own wall <"$tmp/iperf.out"
        echo "$own" >>"$res/$kind.iperf3"
        echo "$wall" >>"$res/$kind.iperf3.wall"
      else
        transfer "$t" "$kind" >>"$res/$kind.$t"
      fi
    done
  done
  local nc_m="" ip_m=""
  [ -f "$res/$kind.nc" ] && nc_m=$(median "$res/$kind.nc")
  [ -f "$res/$kind.iperf3" ] && ip_m=$(median "$res/$kind.iperf3")
  printf '%-26s %9s %9s %9s %10s %8s %10s\n' tool "median s" "min s" "max s" "MiB/s" "vs nc" "vs iperf3"
  for t in "${list[@]}"; do
    m=$(median "$res/$kind.$t")
    read -r lo hi < <(minmax "$res/$kind.$t")
    local name=$t
    case "$t" in
      nc) name="nc -N (OpenBSD)" ;;
      socat) name="socat -u (8 KiB buffer)" ;;
      iperf3) name="iperf3 (memory, own rate)" ;;
    esac
    awk -v n="$name" -v m="$m" -v lo="$lo" -v hi="$hi" -v mib="$nmib" -v nc="$nc_m" -v ip="$ip_m" 'BEGIN {
      printf "%-26s %9.3f %9.3f %9.3f %10.0f %8s %10s\n", n, m, lo, hi, mib / m,
        nc == "" ? "-" : sprintf("%.2fx", nc / m), ip == "" ? "-" : sprintf("%.2fx", ip / m) }'
  done
  if [ -f "$res/$kind.iperf3.wall" ]; then
    printf '%-26s %9.3f   (wall clock incl. control connection; not used for ratios)\n' \
      "iperf3 wall clock" "$(median "$res/$kind.iperf3.wall")"
  fi
  echo "[load after: $(load)]"
}

verdict() { # NAME RATIO OP TARGET
  awk -v n="$1" -v r="$2" -v op="$3" -v t="$4" 'BEGIN {
    ok = (op == ">=") ? (r >= t) : (r <= t)
    printf "target %-44s %6.2fx %s %.2fx  %s\n", n, r, op, t, ok ? "MET" : "NOT MET" }'
}

if [ "$do_tput" = 1 ]; then
  throughput_table file "$size from a regular file -> listener -> /dev/null" a
  throughput_table pipe "$size from a pipe (dd bs=1M from /dev/zero) -> listener -> /dev/null" b
  rm -f "$data"
fi

# 4. Short connections against one Python reply server: it reads a line,
# replies, half-closes, drains until the client's EOF, closes.
cat >"$tmp/reply.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(128)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        buf = b""
        while b"\n" not in buf:
            d = c.recv(1024)
            if not d:
                break
            buf += d
        c.sendall(b"pong\n")
        c.shutdown(socket.SHUT_WR)
        while c.recv(1024):
            pass
    except OSError:
        pass
    c.close()
EOF
limit=$((limit * 10)) bg python3 "$tmp/reply.py" "$tmp/reply.port"
rpid=$bgpid
for ((i = 0; i < 500; i++)); do [ -s "$tmp/reply.port" ] && break; sleep 0.01; done
rport=$(cat "$tmp/reply.port")

# ncat reads the system CA bundle at every start (about 0.1-0.3s), so it gets
# fewer connections; the cost is reported per connection all the same.
ncat_conns=$((conns < 50 ? conns : 50))

# conns_run TOOL: sequential connections; prints seconds per connection.
conns_run() {
  local tool=$1 t0 t1 i got conns=$conns
  [ "$tool" = ncat ] && conns=$ncat_conns
  t0=$(now)
  for ((i = 0; i < conns; i++)); do
    if [ "$tool" = baseline ]; then
      printf 'ping\n' | cat >/dev/null
      echo pong
    else
      printf 'ping\n' | client "$tool" "$rport"
    fi
  done >"$tmp/replies"
  t1=$(now)
  got=$(grep -c '^pong$' "$tmp/replies" || true)
  if [ "$got" != "$conns" ]; then
    echo "bench.sh: $tool: $got of $conns replies" >&2
    exit 1
  fi
  awk -v a="$t0" -v b="$t1" -v n="$conns" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 / n }'
}

ctools=("${tools[@]}")
[ -n "$screl" ] && ctools=(sockcat sockcat-rel "${tools[@]:1}")
echo
echo "(c) $conns sequential short connections (send a line, read reply until close)  [load before: $(load)]"
for ((r = 0; r < runs; r++)); do
  for t in $(rotate "$r" "${ctools[@]}" baseline); do
    conns_run "$t" >>"$res/conn.$t"
  done
done
nc_m=""
[ -f "$res/conn.nc" ] && nc_m=$(median "$res/conn.nc")
printf '%-26s %11s %11s %11s %8s\n' tool "median ms" "min ms" "max ms" "vs nc"
for t in "${ctools[@]}" baseline; do
  m=$(median "$res/conn.$t")
  read -r lo hi < <(minmax "$res/conn.$t")
  name=$t
  [ "$t" = nc ] && name="nc -N (OpenBSD)"
  [ "$t" = baseline ] && name="loop only (printf|cat)"
  [ "$t" = ncat ] && name="ncat ($ncat_conns per run)"
  [ "$t" = sockcat-rel ] && name="sockcat (release build)"
  awk -v n="$name" -v m="$m" -v lo="$lo" -v hi="$hi" -v nc="$nc_m" 'BEGIN {
    printf "%-26s %11.3f %11.3f %11.3f %8s\n", n, m * 1000, lo * 1000, hi * 1000,
      nc == "" ? "-" : sprintf("%.2fx", m / nc) }'
done
echo "[load after: $(load)]"
kill "$rpid" 2>/dev/null || true
wait "$rpid" 2>/dev/null || true
forget "$rpid"

# 4b. Start-up: `sockcat --version` against a Go hello world (the floor of a
# Go program) and `nc -h` (hyperfine, no shell, warm cache), one hyperfine
# run holding every command so they share the machine's state.
startup_runs=$((quick ? 50 : 200))
if have hyperfine && have go; then
  mkdir -p "$tmp/hello"
  printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' >"$tmp/hello/main.go"
  printf 'module hello\n\ngo 1.21\n' >"$tmp/hello/go.mod"
  (cd "$tmp/hello" && go build -o "$tmp/hello-go" .)
  cmds=("$tmp/hello-go" "$sc --version")
  [ -n "$screl" ] && cmds+=("$screl --version")
  [ "$nc_ok" = 1 ] && cmds+=("nc -h")
  echo
  echo "(d) start-up, hyperfine -N, $startup_runs runs each  [load before: $(load)]"
  hyperfine -N -i -w 20 -r "$startup_runs" --export-json "$res/startup.json" "${cmds[@]}" >/dev/null 2>&1
  python3 - "$res/startup.json" "$res/startup.ratios" <<'EOF'
import json, os, statistics, sys
rs = json.load(open(sys.argv[1]))["results"]
med = {r["command"]: statistics.median(r["times"]) for r in rs}
hello = med[rs[0]["command"]]
print("%-30s %10s %10s %10s %10s" % ("command", "median ms", "min ms", "vs hello", "binary MB"))
out = []
for i, r in enumerate(rs):
    c = r["command"]
    key, n = "other", c
    if i == 0:
        key, n = "hello", "Go hello world"
    elif c.endswith("sockcat-rel --version"):
        key, n = "rel", "sockcat --version (release)"
    elif c.endswith("sockcat --version"):
        key, n = "sockcat", "sockcat --version"
    exe = c.split()[0]
    size = "%.1f" % (os.path.getsize(exe) / 1e6) if os.path.isfile(exe) else "-"
    print("%-30s %10.2f %10.2f %9.2fx %10s" % (n, med[c] * 1e3, min(r["times"]) * 1e3, med[c] / hello, size))
    out.append("%s %.4f" % (key, med[c] / hello))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
EOF
  echo "[load after: $(load)]"
else
  echo "bench.sh: hyperfine or go missing: start-up (d) skipped"
fi

# 5. Targets.
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
if [ -f "$res/file.nc" ]; then
  verdict "file throughput vs nc -N" "$(ratio "$(median "$res/file.nc")" "$(median "$res/file.sockcat")")" ">=" 1.5
  verdict "pipe throughput vs nc -N" "$(ratio "$(median "$res/pipe.nc")" "$(median "$res/pipe.sockcat")")" ">=" 1.5
fi
if [ -f "$res/conn.nc" ]; then
  verdict "per-connection cost vs nc -N" "$(ratio "$(median "$res/conn.sockcat")" "$(median "$res/conn.nc")")" "<=" 1.5
  if [ -f "$res/conn.sockcat-rel" ]; then
    verdict "per-connection cost vs nc -N (release build)" "$(ratio "$(median "$res/conn.sockcat-rel")" "$(median "$res/conn.nc")")" "<=" 1.5
  fi
fi
if [ -f "$res/startup.ratios" ]; then
  verdict "--version start-up vs Go hello world" "$(awk '$1 == "sockcat" { print $2 }' "$res/startup.ratios")" "<=" 1.5
  if grep -q '^rel ' "$res/startup.ratios"; then
    verdict "--version start-up vs hello (release build)" "$(awk '$1 == "rel" { print $2 }' "$res/startup.ratios")" "<=" 1.5
  fi
fi
if [ -f "$res/file.iperf3" ]; then
  verdict "file throughput vs iperf3 (memory)" "$(ratio "$(median "$res/file.iperf3")" "$(median "$res/file.sockcat")")" ">=" 0.9
fi

# 6. Zero-copy evidence.
if [ "$do_strace" = 1 ] && have strace; then
  smib=$((nmib < 256 ? nmib : 256))
  sdata=$tmp/strace.bin
  head -c $((smib << 20)) /dev/zero >"$sdata"
  # trace_sockcat TITLE SIDE STDIN-KIND: SIDE is client (traced sockcat sends
  # to an untraced sockcat listener) or server (traced listener, untraced
  # client sends a file).
  trace_sockcat() {
    local title=$1 side=$2 kind=$3 port spid
    port=$(freeport)
    echo
    echo "strace -f -c, $title (${smib} MiB):"
    if [ "$side" = client ]; then
      bg "$sc" -l 127.0.0.1 "$port" </dev/null >/dev/null 2>"$tmp/server.err"
      spid=$bgpid
      wait_listen "$port"
      if [ "$kind" = file ]; then
        timeout "$limit" strace -f -c -o "$tmp/strace.out" -e trace=splice,sendfile,read,write \
          "$sc" 127.0.0.1 "$port" <"$sdata" >/dev/null
      else
        head -c $((smib << 20)) /dev/zero | timeout "$limit" strace -f -c -o "$tmp/strace.out" \
          -e trace=splice,sendfile,read,write "$sc" 127.0.0.1 "$port" >/dev/null
      fi
      reap "$spid" "sockcat listener"
    else
      local out=/dev/null
      bg strace -f -c -o "$tmp/strace.out" -e trace=splice,sendfile,read,write \
        "$sc" -l 127.0.0.1 "$port" </dev/null >"$out" 2>"$tmp/server.err"
      spid=$bgpid
      wait_listen "$port"
      "$sc" 127.0.0.1 "$port" <"$sdata" >/dev/null
      reap "$spid" "traced sockcat listener"
    fi
    # The summary: header, the traced calls, total.
    grep -E 'calls|^-|splice|sendfile|read|write|total' "$tmp/strace.out"
  }
  trace_sockcat "sockcat client, regular file on stdin (expect sendfile)" client file
  trace_sockcat "sockcat client, pipe on stdin" client pipe
  trace_sockcat "sockcat listener, socket -> stdout /dev/null (expect splice)" server file
  rm -f "$sdata"
fi

# 7. The other areas' benchmarks.
if [ "$do_others" = 1 ]; then
  for s in broker views scan; do
    f=scripts/bench-$s.sh
    echo
    if [ -x "$f" ]; then
      echo "== $f"
      if [ "$quick" = 1 ]; then "$f" --quick || echo "bench.sh: $f failed (exit $?)"; else "$f" || echo "bench.sh: $f failed (exit $?)"; fi
    elif [ -e "$f" ]; then
      echo "bench.sh: $f exists but is not executable: not run"
    else
      echo "bench.sh: $f is missing: not run"
    fi
  done
fi
