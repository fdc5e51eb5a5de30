package planner

import (
	"strings"
	"testing"
)

func TestSmoke(t *testing.T) {
	p, _ := mustPlanner(t)
	got := runQuery(t, p, `SELECT Image, pid FROM events WHERE EventID = 4688 AND pid > 150`)
	want := []string{`C:\Temp\evil_cmd.exe|400`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %v; want %v", got, want)
	}
}
