package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// SQLCommand returns the `sql` command.
func SQLCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "sql",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("sql: not implemented yet") },
	}
}
