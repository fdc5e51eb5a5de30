package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/spf13/cobra"

	"github.com/sigmaflight/sigmaflight/clients"
	"github.com/sigmaflight/sigmaflight/clients/eventfile"
	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// RulesCommand returns the `rules` command: check (offline), load, list, show, test.
func RulesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Check, load and inspect Sigma rulesets",
		Long: `Work with Sigma rulesets: 'check' validates rule files offline; 'load', 'list' and
'show' manage the rulesets of a running node; 'test' runs a ruleset over sample events.`,
		Example: `  sigmaflight rules check ./rules
  sigmaflight rules load windows ../shared/data/sigmahq/rules/windows
  sigmaflight rules list
  sigmaflight rules show windows
  sigmaflight rules test examples ../shared/data/otrf/psh_lsass_memory_dump_comsvcs.zip`,
	}
	cmd.AddCommand(rulesCheckCommand(), rulesLoadCommand(), rulesListCommand(), rulesShowCommand(), rulesTestCommand())
	return cmd
}

// ruleFile is one file of a LoadRuleset request.
type ruleFile struct {
	Path string `json:"path"`
	YAML string `json:"yaml"`
}

type loadResult struct {
	Name     string `json:"name"`
	Rules    int    `json:"rules"`
	Loaded   int    `json:"loaded"`
	Rejected []struct {
		Path   string `json:"path"`
		Line   int    `json:"line"`
		Column int    `json:"column"`
		Reason string `json:"reason"`
	} `json:"rejected"`
}

type rulesetInfo struct {
	Name  string `json:"name"`
	Rules int    `json:"rules"`
}

type rulesetDetail struct {
	Name  string `json:"name"`
	Rules []struct {
		ID     string   `json:"id"`
		Title  string   `json:"title"`
		Level  string   `json:"level"`
		Status string   `json:"status"`
		Tags   []string `json:"tags"`
		File   string   `json:"file"`
		YAML   string   `json:"yaml"`
	} `json:"rules"`
}

// collectRuleFiles reads every .yml/.yaml file under paths, with paths relative to the
// directory given (or the file name for a file).
func collectRuleFiles(paths []string) ([]ruleFile, error) {
	var out []ruleFile
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			data, err := os.ReadFile(root)
			if err != nil {
				return nil, err
			}
			out = append(out, ruleFile{Path: filepath.Base(root), YAML: string(data)})
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(p))
			if d.IsDir() || (ext != ".yml" && ext != ".yaml") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			out = append(out, ruleFile{Path: filepath.ToSlash(rel), YAML: string(data)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no .yml or .yaml files under %s", strings.Join(paths, ", "))
	}
	return out, nil
}

func rulesLoadCommand() *cobra.Command {
	var (
		conn   connFlags
		strict bool
	)
	cmd := &cobra.Command{
		Use:   "load NAME PATH...",
		Short: "Send a ruleset (Sigma YAML files or directories) to a node",
		Long: `Read every .yml/.yaml file under PATH and load them on the node as the ruleset NAME,
replacing a ruleset of that name. Rules the node rejects are listed as file:line:column:
reason; the others are loaded. Rulesets loaded this way are kept until the node stops
(start the node with --rules NAME=DIR for a permanent one). Needs the admin role when the
node has authentication.`,
		Example: `  sigmaflight rules load windows ../shared/data/sigmahq/rules/windows
  sigmaflight rules load mine ./my-rule.yml ./more-rules/
  sigmaflight rules load --strict prod ./rules   # exit 1 if any rule is rejected`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := collectRuleFiles(args[1:])
			if err != nil {
				return err
			}
			body, _ := json.Marshal(map[string]any{"name": args[0], "rules": files})
			c, err := conn.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			resp, err := c.Action(cmd.Context(), clients.ActionLoadRuleset, body)
			if err != nil {
				return fmt.Errorf("load ruleset %s: %w", args[0], err)
			}
			var res loadResult
			if err := json.Unmarshal(resp, &res); err != nil {
				return fmt.Errorf("load ruleset %s: unexpected answer %q: %w", args[0], resp, err)
			}
			for _, r := range res.Rejected {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s:%d:%d: %s\n", r.Path, r.Line, r.Column, r.Reason)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ruleset %s: loaded %d of %d rules from %d files (%d rejected)\n",
				res.Name, res.Loaded, res.Rules, len(files), len(res.Rejected))
			if strict && len(res.Rejected) > 0 {
				return fmt.Errorf("%d rules rejected", len(res.Rejected))
			}
			return nil
		},
	}
	conn.bind(cmd)
	cmd.Flags().BoolVar(&strict, "strict", false, "exit with status 1 when any rule is rejected")
	return cmd
}

func rulesListCommand() *cobra.Command {
	var conn connFlags
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the rulesets of a node with their rule counts",
		Example: `  sigmaflight rules list --server grpc://127.0.0.1:8815`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := conn.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			resp, err := c.Action(cmd.Context(), clients.ActionListRulesets, nil)
			if err != nil {
				return fmt.Errorf("list rulesets: %w", err)
			}
			var list []rulesetInfo
			if err := json.Unmarshal(resp, &list); err != nil {
				return fmt.Errorf("list rulesets: unexpected answer %q: %w", resp, err)
			}
			sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tRULES")
			for _, r := range list {
				fmt.Fprintf(tw, "%s\t%d\n", r.Name, r.Rules)
			}
			return tw.Flush()
		},
	}
	conn.bind(cmd)
	return cmd
}

func getRuleset(ctx context.Context, c *clients.Client, name string) (*rulesetDetail, error) {
	body, _ := json.Marshal(map[string]string{"name": name})
	resp, err := c.Action(ctx, clients.ActionGetRuleset, body)
	if err != nil {
		return nil, fmt.Errorf("get ruleset %s: %w", name, err)
	}
	var d rulesetDetail
	if err := json.Unmarshal(resp, &d); err != nil {
		return nil, fmt.Errorf("get ruleset %s: unexpected answer: %w", name, err)
	}
	return &d, nil
}

func rulesShowCommand() *cobra.Command {
	var (
		conn   connFlags
		asYAML bool
		ruleID string
	)
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show the rules of a ruleset on a node",
		Long:  `List the rules of ruleset NAME (id, level, status, title, file), or print their YAML.`,
		Example: `  sigmaflight rules show examples
  sigmaflight rules show examples --yaml --id 7e4a3b2c-0f4e-4c3a-9a59-9a0c5c1f0a01`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := conn.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			d, err := getRuleset(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asYAML {
				seen := map[string]bool{}
				for _, r := range d.Rules {
					if (ruleID != "" && r.ID != ruleID) || seen[r.File] {
						continue
					}
					seen[r.File] = true
					fmt.Fprintf(out, "# %s\n%s\n---\n", r.File, strings.TrimRight(r.YAML, "\n"))
				}
				if ruleID != "" && len(seen) == 0 {
					return fmt.Errorf("ruleset %s has no rule with id %s", args[0], ruleID)
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tLEVEL\tSTATUS\tTITLE\tFILE")
			for _, r := range d.Rules {
				if ruleID != "" && r.ID != ruleID {
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Level, r.Status, r.Title, r.File)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "(%d rules)\n", len(d.Rules))
			return nil
		},
	}
	conn.bind(cmd)
	cmd.Flags().BoolVar(&asYAML, "yaml", false, "print the rules' YAML instead of a table")
	cmd.Flags().StringVar(&ruleID, "id", "", "only the rule with this id")
	return cmd
}

func rulesTestCommand() *cobra.Command {
	var (
		conn       connFlags
		showEvents int
		fields     []string
	)
	cmd := &cobra.Command{
		Use:   "test NAME|PATH FILE...",
		Short: "Run a ruleset over sample events and report which rules fire",
		Long: `Run the ruleset NAME of a node (its rules are fetched with their YAML) or the Sigma
files under a local PATH over the events in FILE... and print, per rule, how many events
matched. Evaluation runs here, in the client, with the same engine the node uses
(sigmaql): nothing is written to the node, so it is safe against production. The events
are read like 'sigmaflight ingest' reads them (every format, archives, directories).

The exit status is 0 even when no rule fires; use --show-events to see matching events.`,
		Example: `  sigmaflight rules test examples ../shared/data/otrf/psh_lsass_memory_dump_comsvcs.zip
  sigmaflight rules test ./my-rules/ ./samples/ --show-events 3 --field Image --field CommandLine`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			files, err := testRuleFiles(ctx, &conn, args[0])
			if err != nil {
				return err
			}
			var src []sigmaql.SourceFile
			for _, f := range files {
				src = append(src, sigmaql.SourceFile{Path: f.Path, Data: []byte(f.YAML)})
			}
			rs, diags := sigmaql.BuildRuleset(args[0], src, sigmaql.LoadOptions{})
			for _, d := range diags {
				if !d.Warning {
					fmt.Fprintln(cmd.ErrOrStderr(), d.String())
				}
			}
			if rs == nil || len(rs.Rules) == 0 {
				return fmt.Errorf("ruleset %s: no rule loaded", args[0])
			}
			return runRulesTest(ctx, rs, args[1:], showEvents, fields, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	conn.bind(cmd)
	cmd.Flags().IntVar(&showEvents, "show-events", 0, "print up to this many matching events per rule")
	cmd.Flags().StringSliceVar(&fields, "field", nil, "with --show-events: fields to print (default: all)")
	return cmd
}

// testRuleFiles returns the rule files of a local path, or of the node's ruleset name.
func testRuleFiles(ctx context.Context, conn *connFlags, nameOrPath string) ([]ruleFile, error) {
	if _, err := os.Stat(nameOrPath); err == nil {
		return collectRuleFiles([]string{nameOrPath})
	}
	c, err := conn.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	d, err := getRuleset(ctx, c, nameOrPath)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var files []ruleFile
	for _, r := range d.Rules {
		if seen[r.File] || r.YAML == "" {
			continue
		}
		seen[r.File] = true
		files = append(files, ruleFile{Path: r.File, YAML: r.YAML})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("ruleset %s: the node returned no rule YAML", nameOrPath)
	}
	return files, nil
}

func runRulesTest(ctx context.Context, rs *sigmaql.Ruleset, paths []string, showEvents int, fields []string, out, errOut io.Writer) error {
	var (
		prog   *sigmaql.Program
		schema *arrow.Schema
		index  []int // program rule -> ruleset rule
		events int64
		hits   = make([]int64, len(rs.Rules))
		shown  = make([]int, len(rs.Rules))
	)
	err := eventfile.Read(ctx, paths, eventfile.Options{
		Warn: func(src eventfile.Source, msg string) { fmt.Fprintf(errOut, "warning: %s: %s\n", src, msg) },
	}, func(src eventfile.Source, rec arrow.RecordBatch) error {
		if prog == nil || !rec.Schema().Equal(schema) {
			p, err := rs.Compile(rec.Schema())
			if err != nil {
				return fmt.Errorf("compile ruleset for %s: %w", src, err)
			}
			prog, schema = p, rec.Schema()
			index = index[:0]
			for _, r := range prog.Rules() {
				index = append(index, ruleIndex(rs, r))
			}
		}
		matches, err := prog.Eval(ctx, rec)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		rules := prog.Rules()
		for _, m := range matches {
			idx := index[m.Rule]
			hits[idx]++
			if shown[idx] < showEvents {
				shown[idx]++
				fmt.Fprintf(out, "%s [%s] %s: %s\n", rules[m.Rule].Title, rules[m.Rule].Level, src, rowText(rec, int(m.Row), fields))
			}
		}
		events += rec.NumRows()
		return nil
	})
	if err != nil {
		return err
	}
	order := make([]int, len(rs.Rules))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return hits[order[a]] > hits[order[b]] })
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HITS\tLEVEL\tTITLE\tID")
	fired := 0
	for _, i := range order {
		if hits[i] == 0 {
			continue
		}
		fired++
		r := rs.Rules[i]
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", hits[i], r.Level, r.Title, r.ID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d of %d rules fired on %d events\n", fired, len(rs.Rules), events)
	return nil
}

// ruleIndex finds r in rs by identity (Program.Rules may be a reordered subset).
func ruleIndex(rs *sigmaql.Ruleset, r *sigmaql.Rule) int {
	for i, x := range rs.Rules {
		if x == r {
			return i
		}
	}
	for i, x := range rs.Rules {
		if x.ID == r.ID && x.Title == r.Title {
			return i
		}
	}
	panic(errors.New("BUG: rules test: program rule not in its ruleset"))
}

func rowText(rec arrow.RecordBatch, row int, fields []string) string {
	var parts []string
	for i, f := range rec.Schema().Fields() {
		if len(fields) > 0 && !contains(fields, f.Name) {
			continue
		}
		col := rec.Column(i)
		if col.IsNull(row) {
			continue
		}
		parts = append(parts, f.Name+"="+cell(col, row))
	}
	return strings.Join(parts, " ")
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
