// Package nodeproc builds the sigmaflight binary and runs it as a child process for the
// end-to-end suites (tests/ and tests/clientcompat/): start `serve` with JSON logs, wait
// for the "sigmaflight serving" line that names the bound addresses, keep the logs for a
// failing test, and kill the process.
package nodeproc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Build compiles the module at root into a new temporary directory and returns the
// binary's path and a function that removes the directory.
func Build(root string) (binary string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "sigmaflight-bin-")
	if err != nil {
		return "", nil, err
	}
	binary = filepath.Join(dir, "sigmaflight")
	build := exec.Command("go", "build", "-o", binary, root)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build sigmaflight: %w", err)
	}
	return binary, func() { os.RemoveAll(dir) }, nil
}

// Proc is a running sigmaflight process. Exited is closed once the process is gone.
type Proc struct {
	Cmd      *exec.Cmd
	Addr     string // bound Flight SQL address
	HTTPAddr string // bound HTTP address, "" when disabled
	Exited   chan struct{}

	mu   sync.Mutex
	logs strings.Builder
}

// Start runs binary with args (which must include `--log-format json`) and waits up to
// wait for the node to report its addresses. On failure the process is killed and the
// error carries its logs.
func Start(binary string, args []string, wait time.Duration) (*Proc, error) {
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, Exited: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"flight_sql"`
				HTTP string `json:"http"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "sigmaflight serving" && p.Addr == "" {
				p.Addr, p.HTTPAddr = rec.Addr, rec.HTTP
				close(ready)
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(p.Exited) }()
	select {
	case <-ready:
		return p, nil
	case <-p.Exited:
		return nil, fmt.Errorf("sigmaflight exited before serving:\n%s", p.Logs())
	case <-time.After(wait):
		p.Kill()
		return nil, fmt.Errorf("sigmaflight did not report serving within %s:\n%s", wait, p.Logs())
	}
}

// Logs returns what the process wrote to stderr so far.
func (p *Proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	select {
	case <-p.Exited:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.Exited
}
