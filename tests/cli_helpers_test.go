package tests

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cliResult is the outcome of one `sigmaflight` client command.
type cliResult struct {
	stdout, stderr string
	err            error
}

// runCLI runs the sigmaflight binary with args (and env added to the environment) and
// waits for it; it fails the test if the command does not end within timeout.
func runCLI(t *testing.T, timeout time.Duration, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cliEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sigmaflight %s did not finish within %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), timeout, out.String(), errb.String())
	}
	return cliResult{stdout: out.String(), stderr: errb.String(), err: err}
}

// mustCLI runs the command and fails the test when it exits non-zero.
func mustCLI(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, 2*time.Minute, env, args...)
	if r.err != nil {
		t.Fatalf("sigmaflight %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
	}
	return r
}

// cliEnv is the test process's environment without SIGMAFLIGHT_* settings, so a
// developer's own configuration cannot leak into a test.
func cliEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIGMAFLIGHT_") {
			env = append(env, kv)
		}
	}
	return env
}

// bgProcess is a long-running CLI process (ingest --follow) in its own process group.
type bgProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
}

func startCLI(t *testing.T, args ...string) *bgProcess {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = cliEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &bgProcess{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

// kill sends SIGKILL to the process group and waits.
func (p *bgProcess) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reading test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
