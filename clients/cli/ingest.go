package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// IngestCommand returns the `ingest` command.
func IngestCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "ingest",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("ingest: not implemented yet") },
	}
}
