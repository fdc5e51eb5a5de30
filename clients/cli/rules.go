package cli

import "github.com/spf13/cobra"

// RulesCommand returns the `rules` command: check (offline), load, list, show, test.
func RulesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Check, load and inspect Sigma rulesets",
	}
	cmd.AddCommand(rulesCheckCommand())
	return cmd
}
