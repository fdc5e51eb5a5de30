package server

import (
	"errors"

	"github.com/spf13/cobra"
)

// TokenCommand returns the `token` command, which mints JWTs for users and roles.
func TokenCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "token",
		Short:  "(not implemented yet)",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("token: not implemented yet") },
	}
}
