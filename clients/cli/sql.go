package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/chzyer/readline"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/grpc/status"

	"github.com/sigmaflight/sigmaflight/clients"
)

// SQLCommand returns the `sql` command.
func SQLCommand() *cobra.Command {
	var (
		conn     connFlags
		execSQL  []string
		file     string
		format   string
		showTime bool
	)
	cmd := &cobra.Command{
		Use:   "sql [--server URI] [-e SQL | -f FILE]",
		Short: "Run SQL against a node: an interactive shell, or statements from -e / -f",
		Long: `Run SQL against a sigmaflight node over Flight SQL.

With -e or -f, run the statements (separated by ';') and print each result; the exit
status is 1 if any statement fails. Without them, start an interactive shell when standard
input is a terminal (statements end with ';' and may span lines; history is kept in
~/.sigmaflight_history; \q quits, \format csv|json|table changes the output) or read
statements from standard input otherwise.

Errors show the server's message; when it carries a position ("line 1, column 8"), the
statement line is printed with a caret under that column.`,
		Example: `  sigmaflight sql
  sigmaflight sql -e "SELECT count(*) FROM events"
  sigmaflight sql -e "SELECT rule_title, Image FROM detect('examples') WHERE rule_level = 'high'"
  sigmaflight sql --format csv -e "SELECT * FROM events LIMIT 100" > events.csv
  sigmaflight sql --format json -f hunt.sql | jq .rule_title
  sigmaflight sql --format arrow -e "SELECT * FROM events" > events.arrows
  sigmaflight sql --server grpc+tls://siem.example.com:8815 --username alice -e "SELECT 1"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case formatTable, formatCSV, formatJSON, formatArrow:
			default:
				return fmt.Errorf("--format %q: want table, csv, json or arrow", format)
			}
			if len(execSQL) > 0 && file != "" {
				return errors.New("give -e or -f, not both")
			}
			ctx := cmd.Context()
			c, err := conn.connect(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			s := &sqlSession{c: c, out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), format: format, timing: showTime}
			switch {
			case len(execSQL) > 0:
				return s.script(ctx, strings.Join(execSQL, ";\n"))
			case file != "":
				data, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				return s.script(ctx, string(data))
			}
			in := cmd.InOrStdin()
			if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				return s.shell(ctx)
			}
			data, err := io.ReadAll(in)
			if err != nil {
				return err
			}
			return s.script(ctx, string(data))
		},
	}
	conn.bind(cmd)
	fs := cmd.Flags()
	fs.StringArrayVarP(&execSQL, "execute", "e", nil, "SQL to run (repeatable; may hold several statements separated by ';')")
	fs.StringVarP(&file, "file", "f", "", "file of SQL statements to run")
	fs.StringVar(&format, "format", formatTable, "output format: table, csv, json (one object per line) or arrow (IPC stream)")
	fs.BoolVar(&showTime, "timing", false, "print each statement's elapsed time to stderr")
	return cmd
}

type sqlSession struct {
	c      *clients.Client
	out    io.Writer
	errOut io.Writer
	format string
	timing bool
}

// ErrStatementsFailed is returned by a script in which a statement failed (its error
// was already printed).
var ErrStatementsFailed = errors.New("sql script stopped")

// script runs every statement of text; it stops at the first failure. Lines starting
// with a backslash between statements are shell commands (\format csv), as in the shell.
func (s *sqlSession) script(ctx context.Context, text string) error {
	var stmts []string
	var buf strings.Builder
	n := 0
	runAll := func() error {
		for _, st := range stmts {
			n++
			if err := s.run(ctx, st); err != nil {
				fmt.Fprint(s.errOut, formatSQLError(st, err))
				return fmt.Errorf("statement %d failed; the rest were not run: %w", n, ErrStatementsFailed)
			}
		}
		stmts = stmts[:0]
		return nil
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		if strings.TrimSpace(buf.String()) == "" && strings.HasPrefix(strings.TrimSpace(line), `\`) {
			if err := runAll(); err != nil {
				return err
			}
			buf.Reset()
			if s.meta(strings.TrimSpace(line)) {
				return nil
			}
			continue
		}
		buf.WriteString(line)
		done, rest := splitStatements(buf.String())
		stmts = append(stmts, done...)
		buf.Reset()
		buf.WriteString(rest)
	}
	if strings.TrimSpace(buf.String()) != "" {
		stmts = append(stmts, strings.TrimSpace(buf.String()))
	}
	return runAll()
}

func (s *sqlSession) run(ctx context.Context, stmt string) error {
	start := time.Now()
	rdr, err := s.c.Query(ctx, stmt)
	if err != nil {
		return err
	}
	defer rdr.Release()
	if _, err := writeResult(s.out, rdr, s.format); err != nil {
		return err
	}
	if s.timing {
		fmt.Fprintf(s.errOut, "Time: %.3f ms\n", float64(time.Since(start).Microseconds())/1000)
	}
	return nil
}

// shell is the interactive loop.
func (s *sqlSession) shell(ctx context.Context) error {
	home, _ := os.UserHomeDir()
	rl, err := readline.NewEx(&readline.Config{
		Prompt:                 "sigmaflight> ",
		HistoryFile:            filepath.Join(home, ".sigmaflight_history"),
		DisableAutoSaveHistory: true,
		InterruptPrompt:        "^C",
		EOFPrompt:              `\q`,
	})
	if err != nil {
		return err
	}
	defer rl.Close()
	fmt.Fprintf(s.errOut, "Connected to %s. Statements end with ';'. \\q quits, \\format csv|json|table|arrow.\n", s.c.Addr())
	var buf strings.Builder
	for {
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			buf.Reset()
			rl.SetPrompt("sigmaflight> ")
			continue
		}
		if err != nil { // io.EOF: Ctrl-D
			return nil
		}
		if buf.Len() == 0 {
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, `\`) {
				if s.meta(trimmed) {
					return nil
				}
				continue
			}
		}
		buf.WriteString(line)
		buf.WriteString("\n")
		stmts, rest := splitStatements(buf.String())
		for _, st := range stmts {
			_ = rl.SaveHistory(strings.Join(strings.Fields(st), " ") + ";")
			if err := s.run(ctx, st); err != nil {
				fmt.Fprint(s.errOut, formatSQLError(st, err))
			}
		}
		buf.Reset()
		if strings.TrimSpace(rest) != "" {
			buf.WriteString(rest)
			rl.SetPrompt("          -> ")
		} else {
			rl.SetPrompt("sigmaflight> ")
		}
	}
}

// meta runs a backslash command and reports whether the shell should quit.
func (s *sqlSession) meta(cmd string) bool {
	fields := strings.Fields(cmd)
	switch fields[0] {
	case `\q`, `\quit`:
		return true
	case `\format`:
		if len(fields) == 2 {
			switch fields[1] {
			case formatTable, formatCSV, formatJSON, formatArrow:
				s.format = fields[1]
				return false
			}
		}
		fmt.Fprintln(s.errOut, `usage: \format table|csv|json|arrow`)
	case `\timing`:
		s.timing = !s.timing
		fmt.Fprintf(s.errOut, "Timing is %v.\n", s.timing)
	default:
		fmt.Fprintln(s.errOut, `\q quit   \format table|csv|json|arrow   \timing toggle timing`)
	}
	return false
}

// splitStatements splits text at top-level semicolons (outside quotes and comments) and
// returns the complete statements, trimmed and without their ';', and the unterminated
// rest.
func splitStatements(text string) (stmts []string, rest string) {
	start := 0
	var quote byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == quote {
				if i+1 < len(text) && text[i+1] == quote { // doubled quote escapes itself
					i++
				} else {
					quote = 0
				}
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '-' && i+1 < len(text) && text[i+1] == '-':
			if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(text)
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			if j := strings.Index(text[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(text)
			}
		case c == ';':
			if st := strings.TrimSpace(text[start:i]); st != "" {
				stmts = append(stmts, st)
			}
			start = i + 1
		}
	}
	if start < len(text) {
		rest = text[start:]
	}
	return stmts, rest
}

// positionRE finds the position planner errors carry: "(line 1, column 8)".
var positionRE = regexp.MustCompile(`line (\d+), column (\d+)`)

// formatSQLError renders err for a human: the server's message without the gRPC wrapper
// and, when the message carries a position, the statement's line with a caret under it.
func formatSQLError(stmt string, err error) string {
	msg := err.Error()
	code := ""
	if st, ok := status.FromError(errors.Unwrap(err)); ok && st != nil {
		msg, code = st.Message(), st.Code().String()
	} else if st, ok := status.FromError(err); ok {
		msg, code = st.Message(), st.Code().String()
	}
	var sb strings.Builder
	sb.WriteString("ERROR: ")
	sb.WriteString(msg)
	if code != "" && code != "Unknown" {
		sb.WriteString(" [" + code + "]")
	}
	sb.WriteString("\n")
	m := positionRE.FindStringSubmatch(msg)
	if m == nil {
		return sb.String()
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	lines := strings.Split(stmt, "\n")
	if line < 1 || line > len(lines) || col < 1 {
		return sb.String()
	}
	text := lines[line-1]
	prefix := fmt.Sprintf("LINE %d: ", line)
	sb.WriteString(prefix + text + "\n")
	// The caret goes under the column's character; tabs are kept so it lines up.
	pad := []rune(text)
	if col-1 < len(pad) {
		pad = pad[:col-1]
	}
	var under strings.Builder
	under.WriteString(strings.Repeat(" ", len(prefix)))
	for _, r := range pad {
		if r == '\t' {
			under.WriteRune('\t')
		} else {
			under.WriteByte(' ')
		}
	}
	under.WriteString("^\n")
	sb.WriteString(under.String())
	return sb.String()
}
