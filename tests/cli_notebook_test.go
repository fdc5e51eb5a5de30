package tests

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// notebookOutput is the part of an executed .ipynb the test reads.
type notebookOutput struct {
	Cells []struct {
		CellType string `json:"cell_type"`
		Outputs  []struct {
			OutputType string                     `json:"output_type"`
			Name       string                     `json:"name"`
			Text       json.RawMessage            `json:"text"`
			Data       map[string]json.RawMessage `json:"data"`
			EName      string                     `json:"ename"`
			EValue     string                     `json:"evalue"`
		} `json:"outputs"`
	} `json:"cells"`
}

// jupyterText decodes nbformat's multiline strings (a string or a list of strings).
func jupyterText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []string
	_ = json.Unmarshal(raw, &parts)
	return strings.Join(parts, "")
}

// TestPythonNotebookHeadless is acceptance 3 of issue 8: clients/python/detections.ipynb
// runs headless with `jupyter nbconvert --execute` against the real binary; its
// DataFrames hold the detections the independent fixture expects and it draws its plot.
// Missing Python dependencies fail the test (install clients/python/requirements.txt).
func TestPythonNotebookHeadless(t *testing.T) {
	jupyter, err := exec.LookPath("jupyter")
	if err != nil {
		t.Fatalf("jupyter not found (pip install -r clients/python/requirements.txt): %v", err)
	}
	n := startNode(t, t.TempDir())
	fix := loadHitsFixture(t)
	out := t.TempDir()
	dataDir, err := filepath.Abs(otrfDir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(jupyter, "nbconvert", "--to", "notebook", "--execute",
		"--ExecutePreprocessor.timeout=600", "--output-dir", out, "--output", "executed.ipynb",
		"detections.ipynb")
	cmd.Dir = "../clients/python"
	cmd.Env = append(cliEnv(), "SIGMAFLIGHT_URI=grpc://"+n.addr, "SIGMAFLIGHT_DATA="+dataDir,
		"SIGMAFLIGHT_RECORDING="+fix.Recording, "SIGMAFLIGHT_TABLE=notebook_events", "MPLBACKEND=module://matplotlib_inline.backend_inline")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("nbconvert did not finish in 10 minutes:\n%s", logs.String())
	}
	if err != nil {
		t.Fatalf("nbconvert --execute: %v\n%s", err, logs.String())
	}
	data, err := os.ReadFile(filepath.Join(out, "executed.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	var nb notebookOutput
	if err := json.Unmarshal(data, &nb); err != nil {
		t.Fatal(err)
	}
	var (
		summary    string
		pngs, html int
		dataFrames []string
	)
	for _, c := range nb.Cells {
		for _, o := range c.Outputs {
			if o.OutputType == "error" {
				t.Fatalf("notebook cell failed: %s: %s", o.EName, o.EValue)
			}
			if o.Name == "stdout" {
				for _, l := range strings.Split(jupyterText(o.Text), "\n") {
					if rest, ok := strings.CutPrefix(l, "SUMMARY "); ok {
						summary = rest
					}
				}
			}
			if raw, ok := o.Data["image/png"]; ok {
				img, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(jupyterText(raw), "\n", ""))
				if err != nil || !bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")) || len(img) < 10_000 {
					t.Fatalf("plot output is not a PNG of a real figure (%d bytes, %v)", len(img), err)
				}
				pngs++
			}
			if _, ok := o.Data["text/html"]; ok {
				html++
				dataFrames = append(dataFrames, jupyterText(o.Data["text/plain"]))
			}
		}
	}
	if pngs != 1 {
		t.Fatalf("got %d PNG plots; want 1", pngs)
	}
	if html < 3 {
		t.Fatalf("got %d DataFrame outputs; want the detections, pandas and polars aggregates", html)
	}
	if summary == "" {
		t.Fatal("the notebook printed no SUMMARY line")
	}
	var s struct {
		Events, Ingested, Stored, Detections int64
		ByTitlePandas                        map[string]int64 `json:"by_title_pandas"`
		ByTitlePolars                        map[string]int64 `json:"by_title_polars"`
		Levels                               map[string]int64 `json:"levels"`
	}
	if err := json.Unmarshal([]byte(summary), &s); err != nil {
		t.Fatalf("SUMMARY %s: %v", summary, err)
	}
	lines := countLines(t, fix.Recording)
	if s.Events != lines || s.Ingested != lines || s.Stored != lines {
		t.Fatalf("events %d, ingested %d, stored %d; want %d (lines in the recording)", s.Events, s.Ingested, s.Stored, lines)
	}
	want := fix.counts("")
	if fmt.Sprint(s.ByTitlePandas) != fmt.Sprint(want) || fmt.Sprint(s.ByTitlePolars) != fmt.Sprint(want) {
		t.Fatalf("detections by title: pandas %v, polars %v; want %v", s.ByTitlePandas, s.ByTitlePolars, want)
	}
	var total int64
	levels := map[string]int64{}
	for _, h := range fix.Hits {
		total += h.Count
		levels[h.Level] += h.Count
	}
	if s.Detections != total || fmt.Sprint(s.Levels) != fmt.Sprint(levels) {
		t.Fatalf("detections %d by level %v; want %d by level %v", s.Detections, s.Levels, total, levels)
	}
	if !strings.Contains(dataFrames[0], "rule_title") {
		t.Fatalf("first DataFrame output has no rule_title column:\n%s", dataFrames[0])
	}
}
