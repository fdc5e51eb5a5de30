package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// rulesCheckCommand returns `rules check PATH...`.
func rulesCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "check PATH...",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("rules check: not implemented yet") },
	}
}
