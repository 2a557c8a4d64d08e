// Package podmanconf writes the containers.conf that Berth's own Podman
// service reads (through CONTAINERS_CONF, never the host's
// /etc/containers/containers.conf): what Podman 4.3 needs on a root host
// without systemd, with hybrid cgroups and capped rlimits (see
// docs/architecture.md and the Podman notes in the repository's reference).
package podmanconf

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// maxNproc is the NPROC limit Podman 4.3 sets on itself; a container asking
// for more fails to start.
const maxNproc = 32768

// ContainersConf returns the file: runc (crun refuses hybrid cgroups),
// cgroupfs, file events, a short exec exit delay, netavark, catatonit as
// init where it is installed, and default ulimits no higher than this
// process's hard limits (Podman 4.3 asks for 1048576, and raising a hard
// limit needs CAP_SYS_RESOURCE).
func ContainersConf() string {
	nofile, nproc := uint64(1048576), uint64(maxNproc)
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Max > 0 && l.Max < nofile {
		nofile = l.Max
	}
	if n := hardNproc(); n > 0 && n < nproc {
		nproc = n
	}
	initPath := ""
	for _, p := range []string{"/usr/libexec/podman/catatonit", "/usr/bin/catatonit"} {
		if _, err := os.Stat(p); err == nil {
			initPath = fmt.Sprintf("init_path = %q\n", p)
			break
		}
	}
	return fmt.Sprintf(`# Berth's own podman service only (CONTAINERS_CONF).
[containers]
default_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]
%s
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
exit_command_delay = 5
runtime = "runc"

[network]
network_backend = "netavark"
`, nofile, nofile, nproc, nproc, initPath)
}

// hardNproc reads the hard "Max processes" limit of this process, 0 if
// unknown or unlimited.
func hardNproc() uint64 {
	data, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "Max processes") {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(line, "Max processes"))
		if len(f) >= 2 {
			n, _ := strconv.ParseUint(f[1], 10, 64)
			return n
		}
	}
	return 0
}
