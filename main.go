// Command sigmaflight is an Apache Arrow Flight SQL database for security events with
// Sigma detection built into its query engine. `sigmaflight serve` runs a node;
// `sigmaflight version` prints the build.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sigmaflight/sigmaflight/clients/cli"
	"github.com/sigmaflight/sigmaflight/server"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "sigmaflight:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sigmaflight",
		Short: "A Flight SQL database for security events with Sigma detection built in",
		Long: `sigmaflight stores security events pushed with Arrow Flight (DoPut) and answers SQL
over Flight SQL (ADBC, JDBC), with Sigma rules as part of the query engine:

  SELECT rule_title, count(*) FROM detect('examples') ...

Run 'sigmaflight serve' to start a node with its embedded defaults.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCommand(), newVersionCommand(), server.TokenCommand())
	root.AddCommand(cli.Commands()...)
	return root
}

func newServeCommand() *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a sigmaflight node",
		Long: `Run a sigmaflight node: Flight SQL on --listen, health and Prometheus metrics on
--http-listen, tables in --data-dir.

Every setting can be given, in order of precedence, as a flag, as an environment variable
SIGMAFLIGHT_<FLAG> (upper case, dashes as underscores, e.g. SIGMAFLIGHT_DATA_DIR; lists
comma-separated), or as a key of the YAML file named by --config (or SIGMAFLIGHT_CONFIG),
e.g.

  data-dir: /var/lib/sigmaflight
  rules:
    - windows=/etc/sigmaflight/rules/windows

With no settings at all the node listens on loopback only, which needs no authentication.`,
		Example: `  # a standalone node on its defaults (127.0.0.1:8815, ./sigmaflight-data)
  sigmaflight serve

  # with a ruleset of your own next to the built-in 'examples'
  sigmaflight serve --rules windows=./sigma/rules/windows --data-dir /var/lib/sigmaflight

  # the same settings from the environment
  SIGMAFLIGHT_DATA_DIR=/var/lib/sigmaflight SIGMAFLIGHT_RULES=windows=./sigma/rules/windows sigmaflight serve`,
		Args: cobra.NoArgs,
	}
	complete := cfg.BindFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := complete(); err != nil {
			return err
		}
		log := newLogger(cfg.LogLevel, cfg.LogFormat)
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		node, err := server.Start(ctx, cfg, log)
		if err != nil {
			return err
		}
		waitErr := node.Wait(ctx)
		log.Info("shutting down")
		if err := node.Close(); err != nil {
			return err
		}
		return waitErr
	}
	return cmd
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit and Go version",
		Example: "  sigmaflight version",
		Args:    cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "sigmaflight %s\ncommit: %s\nbuilt: %s\ngo: %s\n",
				server.Version, server.Commit, server.BuildDate, server.GoVersion())
		},
	}
}

func newLogger(level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
