package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// checkRejected is one rule or document that did not load.
type checkRejected struct {
	Path   string `json:"path"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	RuleID string `json:"rule_id,omitempty"`
	Reason string `json:"reason"`
}

// checkReport is the result of `rules check`, printed as text or JSON.
type checkReport struct {
	Pipeline     string          `json:"pipeline"`
	Files        int             `json:"files"`
	Rules        int             `json:"rules"`
	Loaded       int             `json:"loaded"`
	Correlations int             `json:"correlations"`
	Rejected     []checkRejected `json:"rejected"`
	// Reasons counts rejections by reason with quoted specifics elided.
	Reasons  map[string]int  `json:"reasons"`
	Warnings []checkRejected `json:"warnings"`
}

// rulesCheckCommand returns `rules check PATH...`.
func rulesCheckCommand() *cobra.Command {
	var pipeline, placeholders, format string
	var strict bool
	cmd := &cobra.Command{
		Use:   "check PATH...",
		Short: "Load Sigma rules offline and report what loads, what does not and why",
		Long: `Load every .yml/.yaml file under the given files and directories as one ruleset, with
a processing pipeline, and print a summary: files, rules, loaded, rejected rules grouped by
reason (each with file and line), and lint warnings. Correlation and filter documents may
refer to rules in any of the given paths.

--pipeline takes a built-in pipeline (default, sysmon, windows), a pipeline YAML file, or
several of them separated by commas; 'none' loads rules as written.
--placeholders takes a YAML file mapping placeholder names to values, for rules whose
'expand' modifier uses %placeholders%.`,
		Example: `  sigmaflight rules check ../shared/data/sigmahq/rules
  sigmaflight rules check --placeholders placeholders.yml --format json rules/ extra/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("rules check: --format must be text or json, got %q", format)
			}
			opts := sigmaql.LoadOptions{}
			switch pipeline {
			case "none":
				opts.NoPipeline = true
			case "", "default":
			default:
				p, err := sigmaql.ResolvePipeline(pipeline)
				if err != nil {
					return fmt.Errorf("rules check: %w", err)
				}
				opts.Pipeline = p
			}
			if placeholders != "" {
				vars, err := sigmaql.LoadPlaceholderFile(placeholders)
				if err != nil {
					return fmt.Errorf("rules check: %w", err)
				}
				opts.Placeholders = vars
			}
			rep, err := checkRules(args, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printCheckReport(out, rep)
			}
			if strict && len(rep.Rejected) > 0 {
				return fmt.Errorf("rules check: %d of %d rules rejected", len(rep.Rejected), rep.Rules)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pipeline, "pipeline", "default", "processing pipeline: default, sysmon, windows, none, or a pipeline YAML file (comma-separated to combine)")
	cmd.Flags().StringVar(&placeholders, "placeholders", "", "YAML file mapping placeholder names to values for 'expand'")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit with an error when any rule is rejected")
	return cmd
}

// quotedSpecific elides the quoted specifics of a reason so that rejections group.
var quotedSpecific = regexp.MustCompile(`'[^']*'(, '[^']*')*|"[^"]*"`)

// checkRules loads paths as one ruleset and builds the report.
func checkRules(paths []string, opts sigmaql.LoadOptions) (*checkReport, error) {
	files := 0
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(path))
			if !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
				files++
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("rules check: %w", err)
		}
	}
	rs, diags, err := sigmaql.LoadRulesetPaths("check", opts, paths...)
	if err != nil {
		return nil, fmt.Errorf("rules check: %w", err)
	}
	rep := &checkReport{Pipeline: rs.Pipeline, Files: files, Loaded: len(rs.Rules) + len(rs.Correlations),
		Correlations: len(rs.Correlations), Reasons: map[string]int{},
		Rejected: []checkRejected{}, Warnings: []checkRejected{}}
	if opts.NoPipeline {
		rep.Pipeline = "none"
	}
	for _, d := range diags {
		e := checkRejected{Path: d.File, Line: d.Line, Column: d.Column, RuleID: d.RuleID, Reason: d.Message}
		if d.Warning {
			rep.Warnings = append(rep.Warnings, e)
			continue
		}
		rep.Rejected = append(rep.Rejected, e)
		rep.Reasons[quotedSpecific.ReplaceAllString(d.Message, "'…'")]++
	}
	rep.Rules = rep.Loaded + len(rep.Rejected)
	return rep, nil
}

// printCheckReport prints the text summary: totals, then rejections grouped by reason
// (largest group first, up to 10 locations each), then the warning count by reason.
func printCheckReport(w io.Writer, rep *checkReport) {
	fmt.Fprintf(w, "pipeline:  %s\n", rep.Pipeline)
	fmt.Fprintf(w, "files:     %d\n", rep.Files)
	fmt.Fprintf(w, "rules:     %d\n", rep.Rules)
	fmt.Fprintf(w, "loaded:    %d (%d correlation rules)\n", rep.Loaded, rep.Correlations)
	fmt.Fprintf(w, "rejected:  %d\n", len(rep.Rejected))
	fmt.Fprintf(w, "warnings:  %d\n", len(rep.Warnings))
	groups := map[string][]checkRejected{}
	for _, r := range rep.Rejected {
		k := quotedSpecific.ReplaceAllString(r.Reason, "'…'")
		groups[k] = append(groups[k], r)
	}
	printGroups(w, "rejected", groups, 10)
	wgroups := map[string][]checkRejected{}
	for _, r := range rep.Warnings {
		k := quotedSpecific.ReplaceAllString(r.Reason, "'…'")
		wgroups[k] = append(wgroups[k], r)
	}
	printGroups(w, "warnings", wgroups, 3)
}

func printGroups(w io.Writer, title string, groups map[string][]checkRejected, max int) {
	if len(groups) == 0 {
		return
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(groups[keys[i]]) != len(groups[keys[j]]) {
			return len(groups[keys[i]]) > len(groups[keys[j]])
		}
		return keys[i] < keys[j]
	})
	fmt.Fprintf(w, "\n%s by reason:\n", title)
	for _, k := range keys {
		g := groups[k]
		fmt.Fprintf(w, "%5d  %s\n", len(g), k)
		for i, r := range g {
			if i == max {
				fmt.Fprintf(w, "         … and %d more\n", len(g)-max)
				break
			}
			fmt.Fprintf(w, "         %s:%d:%d: %s\n", r.Path, r.Line, r.Column, r.Reason)
		}
	}
}
