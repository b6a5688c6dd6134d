package kvw_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kvw/kvw/bindings/go/kvw"
)

// The tests run against a real nats-server: the one named by KVW_TEST_URL
// (run-tests.sh starts one), else a private one started here on a free
// loopback port with a temporary store. NATS_SERVER_BIN overrides the binary.

var serverURL string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	serverURL = os.Getenv("KVW_TEST_URL")
	if serverURL == "" {
		s, err := startServer()
		if err != nil {
			fmt.Fprintln(os.Stderr, "cannot start nats-server:", err)
			return 1
		}
		defer s.stop()
		serverURL = s.url
		os.Setenv("KVW_TEST_URL", serverURL) // for the internal tests
	}
	return m.Run()
}

type natsServer struct {
	cmd *exec.Cmd
	dir string
	url string
}

func startServer() (*natsServer, error) {
	bin := os.Getenv("NATS_SERVER_BIN")
	if bin == "" {
		bin = "nats-server"
	}
	dir, err := os.MkdirTemp("", "kvw-go-test-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", "-1",
		"--ports_file_dir", dir, "-sd", filepath.Join(dir, "store"))
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &natsServer{cmd: cmd, dir: dir}
	ports := filepath.Join(dir, fmt.Sprintf("nats-server_%d.ports", cmd.Process.Pid))
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(ports)
		if err != nil {
			continue
		}
		var p struct{ Nats []string }
		if json.Unmarshal(b, &p) == nil && len(p.Nats) > 0 {
			s.url = p.Nats[0]
			return s, nil
		}
	}
	s.stop()
	return nil, fmt.Errorf("no ports file %s", ports)
}

func (s *natsServer) stop() {
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Kill()
	s.cmd.Wait()
	os.RemoveAll(s.dir)
}

var bucketSeq atomic.Int64

// uniqueName is a fresh bucket name per call (tests share one server).
func uniqueName(prefix string) string {
	return fmt.Sprintf("go_%s_%d_%d", prefix, os.Getpid(), bucketSeq.Add(1))
}

// testCtx bounds each synchronous call of a test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func connect(t *testing.T, opts *kvw.ClientOptions) *kvw.Client {
	t.Helper()
	var o kvw.ClientOptions
	if opts != nil {
		o = *opts
	}
	if len(o.Servers) == 0 {
		o.Servers = []string{serverURL}
	}
	c, err := kvw.Connect(testCtx(t), &o)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// openBucket opens a fresh bucket (history 10) on a new client.
func openBucket(t *testing.T, prefix string) *kvw.Bucket {
	t.Helper()
	return openBucketOn(t, connect(t, nil), prefix, &kvw.BucketOptions{History: 10})
}

func openBucketOn(t *testing.T, c *kvw.Client, prefix string, opts *kvw.BucketOptions) *kvw.Bucket {
	t.Helper()
	var o kvw.BucketOptions
	if opts != nil {
		o = *opts
	}
	o.CreateIfMissing = true
	b, err := c.Bucket(testCtx(t), uniqueName(prefix), &o)
	if err != nil {
		t.Fatalf("Bucket: %v", err)
	}
	return b
}

// pause stops the server (SIGSTOP) and returns once every thread of it has
// stopped (the signal returns before that, and a thread still running may ack
// what the test sends next); resume lets it go on.
func (s *natsServer) pause(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	tasks := fmt.Sprintf("/proc/%d/task", s.cmd.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if allStopped(t, tasks) {
			return
		}
	}
	t.Fatal("nats-server did not stop")
}

// allStopped reports whether every task in dir is in state T.
func allStopped(t *testing.T, dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/stat")
		if err != nil {
			continue // the thread exited
		}
		// pid (comm) STATE ...: comm may hold spaces, so look after the last ')'.
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) == 0 || f[0] != "T" {
			return false
		}
	}
	return true
}

func (s *natsServer) resume() { s.cmd.Process.Signal(syscall.SIGCONT) }
