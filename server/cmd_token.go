package server

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"
)

// TokenCommand returns the `token` command, which mints JWTs for users and roles with the
// node's signing key, rotates that key, and hashes passwords for the users file.
func TokenCommand() *cobra.Command {
	var (
		dataDir string
		subject string
		role    string
		ttl     time.Duration
	)
	defaultDir := DefaultConfig().DataDir
	if v := os.Getenv(EnvPrefix + "DATA_DIR"); v != "" {
		defaultDir = v
	}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint an access token signed with a node's key (also: rotate, hash-password)",
		Long: `Mint a JWT for a user and role, signed with the key in the node's data directory
(server-keys.json, created if missing). Clients send it as 'authorization: Bearer <token>',
as JDBC 'token=', or as the password of any user. Tokens are valid on every node sharing the
key file until they expire.`,
		Example: `  # a month-long read-only token for a Grafana data source
  sigmaflight token --data-dir /var/lib/sigmaflight --user grafana --role reader --ttl 720h

  # a token for a collector that ingests
  sigmaflight token --user collector-1 --role writer`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if subject == "" {
				return errors.New("token: --user is required (the token's subject)")
			}
			r, err := ParseRole(role)
			if err != nil {
				return fmt.Errorf("token: --role: %w", err)
			}
			if ttl <= 0 {
				return fmt.Errorf("token: --ttl %s must be positive", ttl)
			}
			keys, err := openKeyRing(dataDir)
			if err != nil {
				return fmt.Errorf("token: %w", err)
			}
			tok, err := mintToken(keys, subject, r, ttl, time.Now())
			if err != nil {
				return fmt.Errorf("token: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", defaultDir, "data directory of the node whose key signs (env SIGMAFLIGHT_DATA_DIR)")
	cmd.Flags().StringVar(&subject, "user", "", "subject (user name) of the token")
	cmd.Flags().StringVar(&role, "role", "reader", "role: admin, writer or reader")
	cmd.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "lifetime of the token")

	cmd.AddCommand(&cobra.Command{
		Use:     "rotate",
		Short:   "Add a new signing key and make it current; tokens of older keys stay valid until their key is removed from server-keys.json",
		Example: "  sigmaflight token rotate --data-dir /var/lib/sigmaflight",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := RotateKey(dataDir)
			if err != nil {
				return fmt.Errorf("token rotate: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "hash-password",
		Short:   "Read a password from standard input and print its bcrypt hash for the users file",
		Example: "  echo 's3cret-passphrase' | sigmaflight token hash-password",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				if err != nil {
					return fmt.Errorf("token hash-password: read the password from standard input: %w", err)
				}
				return errors.New("token hash-password: the password is empty")
			}
			h, err := bcrypt.GenerateFromPassword([]byte(line), bcrypt.DefaultCost)
			if err != nil {
				return fmt.Errorf("token hash-password: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(h))
			return nil
		},
	})
	return cmd
}
