// Package podmantest gives tests a real, private Podman service and small
// local test images (no registry needed).
//
// Typical use:
//
//	sock := podmantest.StartService(t)                       // "unix:///tmp/berth-podman-.../podman.sock"
//	podmantest.BuildHelloImage(t, "localhost/mypkg-hello")     // web:http:8080
//	podmantest.BuildBusyboxImage(t, "localhost/mypkg-busybox") // sh, sleep, wget, ...
//	t.Cleanup(func() { podmantest.RemoveContainers(t, "berth.agent", agentID) })
//
// Images live in the host's shared Podman storage, so give them tags unique
// to your package. Every helper skips the test when podman is not installed.
package podmantest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/agent/runtime/podman/podmanconf"
)

// ServicePorts is the service-ports label value of the hello image: one
// HTTP app named "web" on container port 8080.
const ServicePorts = "web:http:8080"

// ContainersConf is podmanconf.ContainersConf: the containers.conf the
// test services read.
func ContainersConf() string { return podmanconf.ContainersConf() }

// need skips t when podman is not installed.
func need(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman not installed")
	}
}

// tempDir makes a short-pathed temporary directory (unix socket paths are
// limited to 108 bytes), removed when t ends.
func tempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "berth-podman-")
	if err != nil {
		t.Fatalf("making temp dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// writeConf writes ContainersConf into dir and returns its path.
func writeConf(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(path, []byte(ContainersConf()), 0o644); err != nil {
		t.Fatalf("writing containers.conf: %v", err)
	}
	return path
}

// StartService starts `podman system service` on a socket in a private
// temporary directory, waits until it answers, and returns its URL
// ("unix:///.../podman.sock"). The service stops when t ends; containers it
// ran keep running, so remove yours (RemoveContainers).
func StartService(t testing.TB) string {
	t.Helper()
	need(t)
	dir := tempDir(t)
	conf := writeConf(t, dir)
	sock := filepath.Join(dir, "podman.sock")
	logPath := filepath.Join(dir, "service.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating service log: %v", err)
	}
	cmd := exec.Command("podman", "system", "service", "--time=0", "unix://"+sock)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting podman system service: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	})

	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://d/v4.0.0/libpod/_ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "unix://" + sock
			}
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("podman system service exited early:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("podman system service did not answer on %s within 30s (last error %v):\n%s", sock, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Podman runs the podman CLI with ContainersConf and returns its stdout;
// it fails t if the command fails.
func Podman(t testing.TB, args ...string) string {
	t.Helper()
	need(t)
	return run(t, tempDir(t), nil, "podman", args...)
}

// run runs name args in a fresh config dir with optional stdin.
func run(t testing.TB, dir string, stdin []byte, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+writeConf(t, dir))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// BuildHelloImage builds the hello image as tag: FROM scratch, a static Go
// HTTP server (podmantest/hello) that answers "hello from berth" on port
// 8080, labelled berth.service-ports=web:http:8080. Its CMD is ["/hello"];
// `/hello echo ARGS` and `/hello exit N` serve exec tests. It needs the go
// tool and must run inside the berth module (as tests do).
func BuildHelloImage(t testing.TB, tag string) {
	t.Helper()
	need(t)
	dir := tempDir(t)
	ctx := filepath.Join(dir, "ctx")
	if err := os.Mkdir(ctx, 0o755); err != nil {
		t.Fatalf("making build context: %v", err)
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(ctx, "hello"),
		"github.com/berth-dev/berth/agent/runtime/podman/podmantest/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building hello server: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(ctx, "hello"))
	if err != nil {
		t.Fatalf("reading hello server: %v", err)
	}
	containerfile := "FROM scratch\nCOPY hello /hello\nEXPOSE 8080\n" +
		"LABEL berth.service-ports=\"" + ServicePorts + "\"\nCMD [\"/hello\"]\n"
	hash := contentHash(bin, []byte(containerfile))
	if imageHash(t, dir, tag) == hash {
		return
	}
	containerfile += "LABEL " + hashLabel + "=" + hash + "\n"
	if err := os.WriteFile(filepath.Join(ctx, "Containerfile"), []byte(containerfile), 0o644); err != nil {
		t.Fatalf("writing Containerfile: %v", err)
	}
	run(t, dir, nil, "podman", "build", "-q", "-t", tag, ctx)
}

// hashLabel marks a test image with a hash of what it was built from, so
// an unchanged image is not built again (rebuilds leave dangling images).
const hashLabel = "berth.podmantest.hash"

func contentHash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// imageHash returns the hashLabel of image tag, "" if it has none or does
// not exist.
func imageHash(t testing.TB, dir, tag string) string {
	t.Helper()
	cmd := exec.Command("podman", "image", "inspect", "--format", "{{index .Labels \""+hashLabel+"\"}}", tag)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+writeConf(t, dir))
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// BuildBusyboxImage imports a busybox-static root filesystem as tag:
// /bin/sh and every busybox applet, PATH=/bin, CMD ["/bin/sh"]. labels
// ("key=value") are added to the image. It skips t when /bin/busybox is
// missing.
func BuildBusyboxImage(t testing.TB, tag string, labels ...string) {
	t.Helper()
	need(t)
	busybox := "/bin/busybox"
	if _, err := os.Stat(busybox); err != nil {
		t.Skip("busybox-static not installed")
	}
	dir := tempDir(t)
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatalf("making rootfs: %v", err)
		}
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatalf("reading busybox: %v", err)
	}
	hash := contentHash(data, []byte(strings.Join(labels, "\n")))
	if imageHash(t, dir, tag) == hash {
		return
	}
	labels = append(labels, hashLabel+"="+hash)
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatalf("copying busybox: %v", err)
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		t.Fatalf("listing busybox applets: %v", err)
	}
	for _, a := range strings.Fields(string(list)) {
		if a == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil && !os.IsExist(err) {
			t.Fatalf("linking applet %s: %v", a, err)
		}
	}
	os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc", "group"), []byte("root:x:0:\n"), 0o644)
	os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	tarball, err := exec.Command("tar", "-C", root, "-c", ".").Output()
	if err != nil {
		t.Fatalf("packing rootfs: %v", err)
	}
	args := []string{"import", "-q", "--change", `CMD ["/bin/sh"]`, "--change", "ENV PATH=/bin"}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		args = append(args, "--change", fmt.Sprintf("LABEL %s=%q", k, v))
	}
	run(t, dir, tarball, "podman", append(args, "-", tag)...)
}

// RemoveContainers force-removes every container labelled key=value.
// Failures are logged, not fatal, so it is safe in t.Cleanup.
func RemoveContainers(t testing.TB, key, value string) {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		return
	}
	dir, err := os.MkdirTemp("", "berth-podman-")
	if err != nil {
		t.Logf("removing containers: %v", err)
		return
	}
	defer os.RemoveAll(dir)
	conf := filepath.Join(dir, "containers.conf")
	os.WriteFile(conf, []byte(ContainersConf()), 0o644)
	cmd := exec.Command("podman", "ps", "-aq", "--filter", "label="+key+"="+value)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
	out, err := cmd.Output()
	if err != nil {
		t.Logf("listing containers labelled %s=%s: %v", key, value, err)
		return
	}
	ids := strings.Fields(string(out))
	if len(ids) == 0 {
		return
	}
	cmd = exec.Command("podman", append([]string{"rm", "-f", "-t", "0"}, ids...)...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("removing containers labelled %s=%s: %v\n%s", key, value, err, out)
	}
}
