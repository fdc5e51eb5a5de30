package sigmaql

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// isRuleFile reports whether name is a YAML rule file.
func isRuleFile(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yml" || ext == ".yaml"
}

// LoadRuleset loads every *.yml/*.yaml file under the given roots of fsys (the whole of
// fsys when no root is given), in lexical order. Rules that do not load are reported as
// diagnostics; the error is for I/O failures only.
func LoadRuleset(name string, fsys fs.FS, roots ...string) (*Ruleset, []Diagnostic, error) {
	if len(roots) == 0 {
		roots = []string{"."}
	}
	rs := &Ruleset{Name: name}
	var diags []Diagnostic
	for _, root := range roots {
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
			rules, ds := ParseRules(p, data)
			rs.Rules = append(rs.Rules, rules...)
			diags = append(diags, ds...)
			return nil
		})
		if err != nil {
			return nil, diags, fmt.Errorf("load ruleset %s from %s: %w", name, root, err)
		}
	}
	return rs, diags, nil
}

// LoadRulesetPath loads a ruleset from a file or a directory (recursively) on disk.
// Diagnostics name files by their path on disk.
func LoadRulesetPath(name, p string) (*Ruleset, []Diagnostic, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("load ruleset %s: %w", name, err)
	}
	if !info.IsDir() {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("load ruleset %s: %w", name, err)
		}
		rules, diags := ParseRules(p, data)
		return &Ruleset{Name: name, Rules: rules}, diags, nil
	}
	rs, diags, err := LoadRuleset(name, os.DirFS(p))
	for _, r := range rsRules(rs) {
		r.File = filepath.Join(p, filepath.FromSlash(r.File))
	}
	for i := range diags {
		diags[i].File = filepath.Join(p, filepath.FromSlash(diags[i].File))
	}
	return rs, diags, err
}

func rsRules(rs *Ruleset) []*Rule {
	if rs == nil {
		return nil
	}
	return rs.Rules
}
