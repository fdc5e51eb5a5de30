// Package cli holds the CLI's client and offline commands (`sql`, `ingest`, `rules`,
// `hunt`); main.go adds them to the root command. Offline commands (`hunt`,
// `rules check`) use sigmaql directly; the others talk Flight SQL to a node.
package cli

import "github.com/spf13/cobra"

// Commands returns the client and offline commands.
func Commands() []*cobra.Command {
	return []*cobra.Command{SQLCommand(), IngestCommand(), RulesCommand(), HuntCommand(), GenDocsCommand()}
}
