package podman

import (
	spec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// maxNproc is the NPROC limit Podman 4.3 sets on itself, so on conmon and
// runc: a container may not ask for more.
const maxNproc = 32768

// rlimits returns nofile and nproc limits a container can be given: this
// process's hard limits, nproc capped at maxNproc.
func rlimits() []spec.POSIXRlimit {
	var out []spec.POSIXRlimit
	var l unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &l) == nil && l.Max != unix.RLIM_INFINITY {
		out = append(out, spec.POSIXRlimit{Type: "nofile", Hard: l.Max, Soft: l.Max})
	}
	nproc := uint64(maxNproc)
	if unix.Getrlimit(unix.RLIMIT_NPROC, &l) == nil && l.Max < nproc {
		nproc = l.Max
	}
	return append(out, spec.POSIXRlimit{Type: "nproc", Hard: nproc, Soft: nproc})
}
