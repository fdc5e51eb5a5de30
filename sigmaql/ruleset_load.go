package sigmaql

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// isRuleFile reports whether name is a YAML rule file.
func isRuleFile(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yml" || ext == ".yaml"
}

// LoadOptions configures how rules load: the processing pipeline and placeholder values.
type LoadOptions struct {
	// Pipeline rewrites every rule after parsing; nil means DefaultPipeline().
	Pipeline *Pipeline
	// NoPipeline loads rules as written, without even the default pipeline (a rule's
	// logsource then selects nothing).
	NoPipeline bool
	// Placeholders gives values to the %placeholders% of 'expand' items that the pipeline
	// leaves unresolved (a placeholder file, see LoadPlaceholderFile).
	Placeholders map[string][]string
}

func (o LoadOptions) pipeline() *Pipeline {
	if o.NoPipeline {
		return nil
	}
	if o.Pipeline != nil {
		return o.Pipeline
	}
	return DefaultPipeline()
}

// SourceFile is one YAML file of rules: its path (used in diagnostics) and content.
type SourceFile struct {
	Path string
	Data []byte
}

// BuildRuleset parses files into a ruleset: detection rules, correlation rules and filter
// documents from any file. Filters are applied to their target rules first, then the
// pipeline processes every rule, then correlations are resolved against the loaded rules
// and other correlations (by id or name). Documents that do not load are reported as
// error diagnostics; lint findings as warnings.
func BuildRuleset(name string, files []SourceFile, opts LoadOptions) (*Ruleset, []Diagnostic) {
	rs := &Ruleset{Name: name}
	var diags []Diagnostic
	var rules []*Rule
	var corrs []*Correlation
	var filters []*filterDoc
	for _, f := range files {
		pf := parseFile(f.Path, f.Data)
		rules = append(rules, pf.rules...)
		corrs = append(corrs, pf.correlations...)
		filters = append(filters, pf.filters...)
		diags = append(diags, pf.diags...)
	}
	p := opts.pipeline()
	if p != nil {
		rs.Pipeline = p.Name
	}
	for i, f := range filters {
		f.seq = i
	}
	for _, r := range rules {
		errd := func(e *posError) {
			diags = append(diags, Diagnostic{File: r.File, Line: e.line, Column: e.col, RuleID: r.ID, Message: e.msg})
		}
		var failed bool
		for _, f := range filters {
			if f.appliesTo(r) {
				if err := f.apply(r); err != nil {
					errd(&posError{line: err.line, col: err.col, msg: "filter " + f.file + ": " + err.msg})
					failed = true
					break
				}
				r.Filters = append(r.Filters, f.id)
			}
		}
		if failed {
			continue
		}
		if err := applyPipeline(r, p, opts.Placeholders); err != nil {
			errd(err)
			continue
		}
		for _, w := range r.det.warnings {
			diags = append(diags, Diagnostic{File: r.File, Line: w.line, Column: w.col, RuleID: r.ID, Warning: true, Message: w.msg})
		}
		rs.Rules = append(rs.Rules, r)
	}
	for _, f := range filters {
		if len(f.rules) > 0 {
			for _, ref := range f.rules {
				if !slicesContainsRule(rs.Rules, ref) {
					diags = append(diags, Diagnostic{File: f.file, Line: f.line, Column: 1, RuleID: f.id, Warning: true,
						Message: "filter names rule '" + ref + "' which is not in the ruleset (or its logsource differs)"})
				}
			}
		}
	}
	rs.Correlations, diags = resolveCorrelations(rs, corrs, diags)
	return rs, diags
}

func slicesContainsRule(rules []*Rule, ref string) bool {
	for _, r := range rules {
		if r.ID == ref || (r.Name != "" && r.Name == ref) {
			return true
		}
	}
	return false
}

// LoadRuleset loads every *.yml/*.yaml file under the given roots of fsys (the whole of
// fsys when no root is given), in lexical order, with the default pipeline. Rules that do
// not load are reported as diagnostics; the error is for I/O failures only.
func LoadRuleset(name string, fsys fs.FS, roots ...string) (*Ruleset, []Diagnostic, error) {
	return LoadRulesetWith(name, fsys, LoadOptions{}, roots...)
}

// LoadRulesetWith is LoadRuleset with options.
func LoadRulesetWith(name string, fsys fs.FS, opts LoadOptions, roots ...string) (*Ruleset, []Diagnostic, error) {
	if len(roots) == 0 {
		roots = []string{"."}
	}
	var files []SourceFile
	for _, root := range roots {
		fs, err := readTree(fsys, root)
		if err != nil {
			return nil, nil, fmt.Errorf("load ruleset %s from %s: %w", name, root, err)
		}
		files = append(files, fs...)
	}
	rs, diags := BuildRuleset(name, files, opts)
	return rs, diags, nil
}

func readTree(fsys fs.FS, root string) ([]SourceFile, error) {
	var files []SourceFile
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isRuleFile(p) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, SourceFile{Path: p, Data: data})
		return nil
	})
	return files, err
}

// LoadRulesetPath loads a ruleset from a file or a directory (recursively) on disk with
// the default pipeline. Diagnostics name files by their path on disk.
func LoadRulesetPath(name, p string) (*Ruleset, []Diagnostic, error) {
	return LoadRulesetPaths(name, LoadOptions{}, p)
}

// LoadRulesetPaths loads one ruleset from several files or directories on disk, so that
// filters and correlations may refer to rules in other files. Diagnostics name files by
// their path on disk.
func LoadRulesetPaths(name string, opts LoadOptions, paths ...string) (*Ruleset, []Diagnostic, error) {
	var files []SourceFile
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("load ruleset %s: %w", name, err)
		}
		if !info.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, nil, fmt.Errorf("load ruleset %s: %w", name, err)
			}
			files = append(files, SourceFile{Path: p, Data: data})
			continue
		}
		tree, err := readTree(os.DirFS(p), ".")
		if err != nil {
			return nil, nil, fmt.Errorf("load ruleset %s from %s: %w", name, p, err)
		}
		for i := range tree {
			tree[i].Path = filepath.Join(p, filepath.FromSlash(tree[i].Path))
		}
		files = append(files, tree...)
	}
	rs, diags := BuildRuleset(name, files, opts)
	return rs, diags, nil
}

// ParseRules parses one YAML file (possibly several documents) into detection rules with
// the default pipeline; filters in the file apply to its rules. Rules that do not load are
// omitted and reported as diagnostics. Correlation rules need a Ruleset (BuildRuleset):
// ParseRules reports each one it leaves out with a warning.
func ParseRules(file string, data []byte) ([]*Rule, []Diagnostic) {
	rs, diags := BuildRuleset("", []SourceFile{{Path: file, Data: data}}, LoadOptions{})
	for _, c := range rs.Correlations {
		diags = append(diags, Diagnostic{File: c.File, Line: c.Line, Column: 1, RuleID: c.ID, Warning: true,
			Message: "correlation rule left out: load the file with BuildRuleset or LoadRulesetPaths to evaluate it"})
	}
	return rs.Rules, diags
}

// LoadPlaceholderFile reads a placeholder file: a YAML mapping of placeholder names
// (without %) to a value or a list of values, e.g. `Administrators: [admin, root]`.
func LoadPlaceholderFile(path string) (map[string][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load placeholders: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("load placeholders %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return map[string][]string{}, nil
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("load placeholders %s:%d: want a mapping of placeholder names to values", path, root.Line)
	}
	vars, perr := parseVars(root)
	if perr != nil {
		return nil, fmt.Errorf("load placeholders %s:%d:%d: %s", path, perr.line, perr.col, perr.msg)
	}
	return vars, nil
}

var (
	builtinOnce      sync.Once
	builtinPipelines map[string]*Pipeline
)

func loadBuiltins() {
	builtinOnce.Do(func() {
		builtinPipelines = map[string]*Pipeline{}
		for name, src := range map[string]string{"sysmon": sysmonPipelineYAML, "windows": windowsPipelineYAML} {
			p, err := ParsePipeline("builtin:"+name, []byte(src))
			if err != nil {
				panic("BUG: built-in pipeline does not parse: " + err.Error())
			}
			builtinPipelines[name] = p
		}
		builtinPipelines["default"] = CombinePipelines(builtinPipelines["sysmon"], builtinPipelines["windows"])
	})
}

// BuiltinPipelineNames lists the names BuiltinPipeline accepts.
var BuiltinPipelineNames = []string{"default", "sysmon", "windows"}

// BuiltinPipeline returns a built-in pipeline by name: "sysmon", "windows", or "default"
// (sysmon combined with windows).
func BuiltinPipeline(name string) (*Pipeline, bool) {
	loadBuiltins()
	p, ok := builtinPipelines[name]
	return p, ok
}

// DefaultPipeline is the pipeline rules load with unless told otherwise: the sysmon and
// windows built-ins combined.
func DefaultPipeline() *Pipeline {
	p, _ := BuiltinPipeline("default")
	return p
}

// ResolvePipeline returns the built-in pipeline called nameOrFile, or else loads it as a
// pipeline file; several comma-separated names or files are combined by priority.
func ResolvePipeline(nameOrFile string) (*Pipeline, error) {
	var ps []*Pipeline
	for _, part := range strings.Split(nameOrFile, ",") {
		part = strings.TrimSpace(part)
		if p, ok := BuiltinPipeline(part); ok {
			ps = append(ps, p)
			continue
		}
		if _, err := os.Stat(part); err != nil {
			return nil, fmt.Errorf("pipeline %q is neither a built-in (%s) nor a readable file: %w",
				part, strings.Join(BuiltinPipelineNames, ", "), err)
		}
		p, err := LoadPipelineFile(part)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	if len(ps) == 1 {
		return ps[0], nil
	}
	return CombinePipelines(ps...), nil
}
