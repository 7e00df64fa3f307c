#!/usr/bin/env bash
# Runs sockcat's whole test suite: installs the real peers the end-to-end
# tests talk to, checks formatting, vet, module tidiness and staticcheck, runs
# every test with the race detector, and checks that the tests left the tree
# clean. Usage: ./scripts/test.sh [go test flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

export SOCKCAT_NO_EXTERNAL=1 # resolve never reaches the internet from tests

# 1. Peers. Debian package for each command the tests use.
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
install_missing test.sh nc=netcat-openbsd socat=socat ncat=ncat turnserver=coturn \
  openssl=openssl curl=curl python3=python3 tmux=tmux tinyproxy=tinyproxy \
  danted=dante-server iptables=iptables ip=iproute2 strace=strace \
  mosquitto=mosquitto miniupnpd=miniupnpd-iptables unshare=util-linux

# 2. Static checks.
echo "test.sh: gofmt"
unformatted=$(gofmt -l . | grep -v '^testdata/' || true)
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi
echo "test.sh: go vet"
go vet ./...
# Every release target builds with CGO_ENABLED=0 and vets (tests included)
# from this tree, so a Linux-only call cannot land (SPEC §16).
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 freebsd/amd64 windows/amd64; do
  echo "test.sh: cross-build and go vet for $target"
  GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go build -o /dev/null .
  GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go vet ./...
done
echo "test.sh: go mod tidy -diff"
go mod tidy -diff
echo "test.sh: staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# 3. Tests, with the race detector.
echo "test.sh: go test -race"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go test -race -count=1 -timeout 12m -json "$@" ./... > "$log" 2>&1 || status=$?
python3 scripts/testsummary.py < "$log" || status=1
[ "$status" = 0 ] || exit 1

# 4. Tests write only to their own temporary directories.
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
  echo "test.sh: the tests changed the tree:"; git status --porcelain; exit 1
fi
echo "test.sh: all checks passed"
