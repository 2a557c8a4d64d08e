package podman_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/agent/runtime"
	"github.com/berth-dev/berth/agent/runtime/podman"
	"github.com/berth-dev/berth/agent/runtime/podman/podmantest"
)

const (
	helloImage   = "localhost/berth-podmantest-hello"
	busyboxImage = "localhost/berth-podmantest-busybox"
	testLabel    = "berth.podmantest"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestRuntime(t *testing.T) {
	sock := podmantest.StartService(t)
	podmantest.BuildHelloImage(t, helloImage)
	podmantest.BuildBusyboxImage(t, busyboxImage)
	runID := fmt.Sprintf("run-%d", time.Now().UnixNano())
	t.Cleanup(func() { podmantest.RemoveContainers(t, testLabel, runID) })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, err := podman.New(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("image labels", func(t *testing.T) {
		labels, err := rt.ImageLabels(ctx, helloImage)
		if err != nil {
			t.Fatal(err)
		}
		if got := labels["berth.service-ports"]; got != podmantest.ServicePorts {
			t.Errorf("service-ports label = %q, want %q", got, podmantest.ServicePorts)
		}
		_, err = rt.ImageLabels(ctx, "localhost/berth-podmantest-nope")
		if !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("missing image: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("hello serves on a published port", func(t *testing.T) {
		port := freePort(t)
		name := "berth-podmantest-hello-" + runID
		id, err := rt.Run(ctx, runtime.Spec{
			Name: name, Image: helloImage,
			Labels: map[string]string{testLabel: runID},
			CPU:    0.5, Mem: 128 << 20,
			Ports: []runtime.Port{{HostIP: "127.0.0.1", HostPort: port, ContainerPort: 8080}},
		})
		if err != nil {
			t.Fatal(err)
		}
		body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
		if body != "hello from berth\n" {
			t.Errorf("body = %q", body)
		}
		c, err := rt.Inspect(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != id || c.State != runtime.StateRunning || c.Labels[testLabel] != runID {
			t.Errorf("inspect = %+v", c)
		}
		list, err := rt.List(ctx, map[string]string{testLabel: runID})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != id || list[0].Name != name {
			t.Errorf("list = %+v", list)
		}
		logs, err := rt.Logs(ctx, id, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs, "listening on :8080") || !strings.Contains(logs, "GET /") {
			t.Errorf("logs = %q", logs)
		}
		if err := rt.Remove(ctx, id, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := rt.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("inspect after remove: err = %v, want ErrNotFound", err)
		}
		if err := rt.Remove(ctx, id, 2*time.Second); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("second remove: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("exec and exit", func(t *testing.T) {
		id, err := rt.Run(ctx, runtime.Spec{
			Name: "berth-podmantest-bb-" + runID, Image: busyboxImage,
			Labels:  map[string]string{testLabel: runID},
			Command: []string{"sh", "-c", "echo started; sleep 1000"},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Remove(ctx, id, time.Second)
		tests := []struct {
			cmd            []string
			stdout, stderr string
			code           int
		}{
			{[]string{"echo", "hi"}, "hi\n", "", 0},
			{[]string{"sh", "-c", "echo out; echo err >&2; exit 3"}, "out\n", "err\n", 3},
		}
		for _, tt := range tests {
			res, err := rt.Exec(ctx, id, tt.cmd)
			if err != nil {
				t.Fatalf("exec %q: %v", tt.cmd, err)
			}
			if res.Stdout != tt.stdout || res.Stderr != tt.stderr || res.ExitCode != tt.code {
				t.Errorf("exec %q = %+v, want %q %q %d", tt.cmd, res, tt.stdout, tt.stderr, tt.code)
			}
		}
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := rt.Exec(short, id, []string{"sleep", "30"}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("exec past deadline: err = %v", err)
		}
	})

	t.Run("exit code of an ended container", func(t *testing.T) {
		id, err := rt.Run(ctx, runtime.Spec{
			Name: "berth-podmantest-exit-" + runID, Image: busyboxImage,
			Labels:  map[string]string{testLabel: runID},
			Command: []string{"sh", "-c", "echo bye; exit 7"},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Remove(ctx, id, time.Second)
		var c runtime.Container
		for c.State != runtime.StateExited && ctx.Err() == nil {
			time.Sleep(200 * time.Millisecond)
			if c, err = rt.Inspect(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if c.ExitCode != 7 {
			t.Errorf("exit code = %d, want 7", c.ExitCode)
		}
		if logs, _ := rt.Logs(ctx, id, 3); logs != "ye\n" {
			t.Errorf("last 3 bytes of logs = %q, want %q", logs, "ye\n")
		}
	})

	t.Run("start failure removes the container", func(t *testing.T) {
		// A port someone else holds makes the start fail.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		name := "berth-podmantest-bad-" + runID
		_, err = rt.Run(ctx, runtime.Spec{
			Name: name, Image: helloImage,
			Labels: map[string]string{testLabel: runID},
			Ports:  []runtime.Port{{HostIP: "127.0.0.1", HostPort: l.Addr().(*net.TCPAddr).Port, ContainerPort: 8080}},
		})
		if err == nil {
			t.Fatal("run on a taken port succeeded")
		}
		t.Logf("run on a taken port: %v", err)
		if _, err := rt.Inspect(ctx, name); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("inspect after failed start: err = %v, want ErrNotFound", err)
		}
	})
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var lastErr error
	for i := 0; i < 50; i++ {
		resp, err := client.Get(url)
		if err == nil {
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return ""
}
