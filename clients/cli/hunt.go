package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// HuntCommand returns the `hunt` command.
func HuntCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "hunt",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("hunt: not implemented yet") },
	}
}
