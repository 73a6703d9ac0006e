#!/usr/bin/env bash
# Builds static release binaries (no cgo) for the Raspberry Pi (linux/arm64, linux/arm v7) and
# linux/amd64 into dist/, stamped with the version (git describe) and commit.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
mkdir -p dist
for target in linux/arm64 linux/arm/7 linux/amd64; do
  IFS=/ read -r goos goarch goarm <<<"$target"
  name="ledbridge-$goos-$goarch${goarm:+v$goarm}"
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOARM=${goarm:-} go build -trimpath \
    -ldflags "-s -w -X main.version=$version -X main.commit=$commit" -o "dist/$name" ./cmd/ledbridge
  echo "dist/$name"
done
