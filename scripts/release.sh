#!/usr/bin/env bash
# Builds the release binaries of sockcat for every supported platform
# (SPEC §16) with CGO_ENABLED=0 from this tree, and a SHA256SUMS file.
#
# Usage: scripts/release.sh VERSION [OUTDIR]
#   VERSION  e.g. v1.2.0; stamped into the binaries (main.version)
#   OUTDIR   where the binaries go (default $TMPDIR/sockcat-VERSION, outside
#            the tree)
# Binaries are named sockcat-VERSION-GOOS-GOARCH (.exe on Windows); they are
# stripped (-s -w) and reproducible (-trimpath, no build ID).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] && [ $# -le 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
version=$1
case "$version" in
  v[0-9]*) ;;
  *) echo "release.sh: VERSION $version: want vMAJOR.MINOR.PATCH" >&2; exit 2 ;;
esac
out=${2:-${TMPDIR:-/tmp}/sockcat-$version}
mkdir -p "$out"

targets=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 freebsd/amd64 windows/amd64)
names=()
for target in "${targets[@]}"; do
  goos=${target%/*} goarch=${target#*/}
  name=sockcat-$version-$goos-$goarch
  [ "$goos" = windows ] && name=$name.exe
  echo "release.sh: $name"
  GOOS=$goos GOARCH=$goarch CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs \
    -ldflags "-s -w -buildid= -X main.version=$version" -o "$out/$name" .
  names+=("$name")
done
(cd "$out" && sha256sum "${names[@]}" > SHA256SUMS)
echo "release.sh: ${#names[@]} binaries and SHA256SUMS in $out"
