package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// GenDocsCommand returns the hidden `gendocs` command, which writes docs/cli.md from the
// commands' own --help text (`make docs`; tests/cli_docs_test.go fails when the committed
// file is stale).
func GenDocsCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:    "gendocs [--out FILE]",
		Short:  "Write the CLI reference (docs/cli.md) from every command's --help",
		Hidden: true,
		Args:   cobra.NoArgs,
		Example: `  sigmaflight gendocs --out docs/cli.md
  make docs`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var buf bytes.Buffer
			if err := WriteCLIReference(&buf, cmd.Root()); err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			return os.WriteFile(out, buf.Bytes(), 0o644)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	return cmd
}

// visibleCommands lists root and its visible descendants, depth first, in cobra's
// (alphabetical) order, without help and completion.
func visibleCommands(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		if !c.IsAvailableCommand() || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		out = append(out, visibleCommands(c)...)
	}
	return out
}

// WriteCLIReference writes the markdown CLI reference of root: an index, then each
// command's --help output verbatim.
func WriteCLIReference(w io.Writer, root *cobra.Command) error {
	cmds := visibleCommands(root)
	fmt.Fprintf(w, "# CLI reference\n\n")
	fmt.Fprintf(w, "Generated from the commands' own `--help` by `%s gendocs` (`make docs`); do not edit by hand:\n", root.Name())
	fmt.Fprintf(w, "`tests/cli_docs_test.go` fails when this file is stale.\n\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "- [`%s`](#%s): %s\n", c.CommandPath(), anchor(c.CommandPath()), c.Short)
	}
	for _, c := range cmds {
		var help bytes.Buffer
		c.SetOut(&help)
		c.SetErr(&help)
		if err := c.Help(); err != nil {
			return fmt.Errorf("help of %s: %w", c.CommandPath(), err)
		}
		c.SetOut(nil)
		c.SetErr(nil)
		fmt.Fprintf(w, "\n## %s\n\n```text\n%s\n```\n", c.CommandPath(), strings.TrimRight(help.String(), "\n"))
	}
	return nil
}

func anchor(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), " ", "-")
}
