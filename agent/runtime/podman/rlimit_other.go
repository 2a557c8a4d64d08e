//go:build !linux

package podman

import spec "github.com/opencontainers/runtime-spec/specs-go"

// rlimits leaves the service's defaults in place off Linux.
func rlimits() []spec.POSIXRlimit { return nil }
