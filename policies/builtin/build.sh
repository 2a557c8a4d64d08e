#!/bin/sh
# Rebuilds builtin.wasm, the built-in scheduling policies, from ./guest.
# Run from anywhere: sh policies/builtin/build.sh (or go generate ./policies/builtin).
set -eu
cd "$(dirname "$0")"
GOOS=wasip1 GOARCH=wasm GOFLAGS= CGO_ENABLED=0 \
	go build -buildmode=c-shared -trimpath -ldflags='-s -w' -o builtin.wasm ./guest
ls -l builtin.wasm
