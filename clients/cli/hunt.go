package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/sigmaflight/sigmaflight/clients/eventfile"
	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// huntFlags are the flags of `sigmaflight hunt`.
type huntFlags struct {
	rules    []string
	pipeline string
	format   string
	stats    bool
	progress string
	input    string
}

// Hunt output formats.
const (
	huntJSONL = "jsonl"
	huntTable = "table"
	huntCSV   = "csv"
)

// errHuntUsage is returned for invalid hunt arguments.
var errHuntUsage = errors.New("hunt: invalid arguments")

// HuntCommand returns the `hunt` command: offline detection over event files with a
// ruleset compiled into one columnar program per distinct batch schema.
func HuntCommand() *cobra.Command {
	f := &huntFlags{}
	cmd := &cobra.Command{
		Use:   "hunt --rules PATH... [flags] FILE...",
		Short: "Run Sigma rules over event files offline (JSON lines, evtx-dump JSON, Arrow, Parquet, zip/gzip, directories)",
		Long: `hunt loads Sigma rules (files or directories, recursively), reads events from the given
files and directories (JSON lines, evtx-dump JSON, CSV, Arrow IPC, Parquet; zip, tar and
gzip unwrapped) and prints one line per (event, rule) match.

Formats: jsonl (one object per match: rule_id, rule_title, rule_level, rule_tags, source,
event), table (a timeline, then a per-rule summary), csv. --stats prints a JSON object with
events, matches, rules_loaded, seconds and events_per_second to standard error.`,
		Example: `  # the SigmaHQ rules over an evtx-dump JSON folder, as a readable timeline
  sigmaflight hunt --rules ./sigma/rules --format table ./evidence/

  # JSON lines for jq, with throughput figures on stderr
  sigmaflight hunt -r ./sigma/rules/windows --format jsonl --stats events.jsonl.gz | jq .rule_title`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHunt(cmd.Context(), f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringSliceVarP(&f.rules, "rules", "r", nil, "Sigma rule files or directories (repeatable, comma-separated)")
	cmd.Flags().StringVar(&f.pipeline, "pipeline", "", "processing pipeline: a built-in name (default, sysmon, windows) or a pipeline file; comma-separated to combine")
	cmd.Flags().StringVar(&f.format, "format", huntJSONL, "output format: jsonl, table or csv")
	cmd.Flags().BoolVar(&f.stats, "stats", false, "print run statistics as JSON to standard error")
	cmd.Flags().StringVar(&f.progress, "progress", "auto", "progress bar on standard error: auto (when a terminal), always, never")
	cmd.Flags().StringVar(&f.input, "input-format", "", "force the input format (jsonl, evtx-json, csv, parquet, arrow); detected by default")
	_ = cmd.MarkFlagRequired("rules")
	return cmd
}

// huntStats is what --stats prints.
type huntStats struct {
	Events          int64   `json:"events"`
	Matches         int64   `json:"matches"`
	RulesLoaded     int     `json:"rules_loaded"`
	RulesRejected   int     `json:"rules_rejected"`
	RulesFired      int     `json:"rules_fired"`
	Batches         int64   `json:"batches"`
	Schemas         int     `json:"schemas"`
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
}

// huntMatch is one (event, rule) match as the jsonl format prints it.
type huntMatch struct {
	RuleID    string         `json:"rule_id"`
	RuleTitle string         `json:"rule_title"`
	RuleLevel string         `json:"rule_level"`
	RuleTags  []string       `json:"rule_tags"`
	Source    string         `json:"source"`
	Event     map[string]any `json:"event"`
}

func runHunt(ctx context.Context, f *huntFlags, paths []string, out, errOut io.Writer) error {
	start := time.Now()
	rs, rejected, err := loadHuntRules(f, errOut)
	if err != nil {
		return err
	}
	return huntFiles(ctx, rs, rejected, start, f, paths, out, errOut)
}

// loadHuntRules loads the rules of --rules with the --pipeline; it returns the ruleset and
// the number of rules that did not load.
func loadHuntRules(f *huntFlags, errOut io.Writer) (*sigmaql.Ruleset, int, error) {
	switch f.format {
	case huntJSONL, huntTable, huntCSV:
	default:
		return nil, 0, fmt.Errorf("%w: --format %q (want jsonl, table or csv)", errHuntUsage, f.format)
	}
	if len(f.rules) == 0 {
		return nil, 0, fmt.Errorf("%w: --rules is required (a rule file or directory)", errHuntUsage)
	}
	var opts sigmaql.LoadOptions
	if f.pipeline != "" {
		p, err := sigmaql.ResolvePipeline(f.pipeline)
		if err != nil {
			return nil, 0, fmt.Errorf("hunt: --pipeline: %w", err)
		}
		opts.Pipeline = p
	}
	rs, diags, err := sigmaql.LoadRulesetPaths("hunt", opts, f.rules...)
	if err != nil {
		return nil, 0, fmt.Errorf("hunt: %w", err)
	}
	rejected := 0
	for _, d := range diags {
		if !d.Warning {
			rejected++
		}
	}
	if rejected > 0 {
		fmt.Fprintf(errOut, "sigmaflight: %d rules did not load (run `sigmaflight rules check` for details)\n", rejected)
	}
	if len(rs.Rules) == 0 {
		return nil, 0, fmt.Errorf("hunt: no rule loaded from %s", strings.Join(f.rules, ", "))
	}
	return rs, rejected, nil
}

// huntFiles evaluates rs over the events of paths and writes the matches to out.
func huntFiles(ctx context.Context, rs *sigmaql.Ruleset, rejected int, start time.Time, f *huntFlags, paths []string, out, errOut io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var err error
	var bar *progressbar.ProgressBar
	if showProgress(f.progress, errOut) {
		bar = progressbar.NewOptions64(inputBytes(paths),
			progressbar.OptionSetWriter(errOut),
			progressbar.OptionSetDescription("hunt"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	st := huntStats{RulesLoaded: len(rs.Rules), RulesRejected: rejected}
	w := newHuntWriter(f.format, out)
	fired := map[int32]int64{}
	schemas := map[string]bool{}
	ropts := eventfile.Options{
		Format: f.input,
		Warn: func(src eventfile.Source, msg string) {
			if bar != nil {
				_ = bar.Clear()
			}
			fmt.Fprintf(errOut, "sigmaflight: warning: %s: %s\n", src, msg)
		},
	}
	if bar != nil {
		ropts.OnRead = func(n int) { _ = bar.Add(n) }
	}
	err = eventfile.Read(ctx, paths, ropts, func(src eventfile.Source, rec arrow.RecordBatch) error {
		// Compile caches one program per distinct schema.
		p, err := rs.Compile(rec.Schema())
		if err != nil {
			return fmt.Errorf("compile rules for %s: %w", src, err)
		}
		schemas[rec.Schema().Fingerprint()] = true
		ms, err := p.Eval(ctx, rec)
		if err != nil {
			return fmt.Errorf("evaluate rules on %s: %w", src, err)
		}
		st.Events += rec.NumRows()
		st.Batches++
		st.Matches += int64(len(ms))
		for _, m := range ms {
			fired[m.Rule]++
			if err := w.write(p.Rules()[m.Rule], src, rec, int(m.Row)); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
		}
		return nil
	})
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return fmt.Errorf("hunt: %w", err)
	}
	if err := w.finish(rs.Rules, fired); err != nil {
		return fmt.Errorf("hunt: write output: %w", err)
	}
	st.RulesFired = len(fired)
	st.Schemas = len(schemas)
	st.Seconds = time.Since(start).Seconds()
	if st.Seconds > 0 {
		st.EventsPerSecond = float64(st.Events) / st.Seconds
	}
	if f.stats {
		b, _ := json.Marshal(st)
		fmt.Fprintf(errOut, "%s\n", b)
	}
	return nil
}
