package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// maxRulesetActionBytes bounds the JSON of one LoadRuleset call: the whole SigmaHQ
// repository is about 20 MB of YAML, so this leaves room without letting a call pin GBs.
const maxRulesetActionBytes = 128 << 20

// rulesetRegistry is what the ruleset actions need from the catalog.
type rulesetRegistry interface {
	addRuleset(rs *sigmaql.Ruleset)
	rulesetNames() []string
	Ruleset(ctx context.Context, name string) (*sigmaql.Ruleset, error)
}

// ruleSources keeps the YAML text of each ruleset's files by ruleset name and file path,
// for GetRuleset. Rulesets are kept in memory for the life of the process in this version.
type ruleSources struct {
	mu    sync.RWMutex
	files map[string]map[string]string
}

func newRuleSources() *ruleSources { return &ruleSources{files: map[string]map[string]string{}} }

func (r *ruleSources) set(ruleset string, files map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[ruleset] = files
}

func (r *ruleSources) get(ruleset, file string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.files[ruleset][file]
}

// rememberSources records the text of every file of rs, read from fsys (nil: the OS).
func (r *ruleSources) rememberSources(rs *sigmaql.Ruleset, fsys fs.FS) {
	files := map[string]string{}
	for _, rule := range rs.Rules {
		if _, ok := files[rule.File]; ok {
			continue
		}
		var data []byte
		var err error
		if fsys != nil {
			data, err = fs.ReadFile(fsys, rule.File)
		} else {
			data, err = os.ReadFile(rule.File)
		}
		if err == nil {
			files[rule.File] = string(data)
		}
	}
	r.set(rs.Name, files)
}

type loadRulesetRequest struct {
	Name  string `json:"name"`
	Rules []struct {
		Path string `json:"path"`
		YAML string `json:"yaml"`
	} `json:"rules"`
}

type rejectedRule struct {
	Path   string `json:"path"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Reason string `json:"reason"`
}

type loadRulesetResult struct {
	Name     string         `json:"name"`
	Rules    int            `json:"rules"`
	Loaded   int            `json:"loaded"`
	Rejected []rejectedRule `json:"rejected"`
}

// loadRulesetAction parses every file of the request and replaces the ruleset of that
// name with the rules that loaded. "rules" counts the rules found (loaded + rejected);
// a ruleset with no loadable rule is refused and the previous one stays.
func (s *flightSQLService) loadRulesetAction(ctx context.Context, body []byte) (any, error) {
	if len(body) > maxRulesetActionBytes {
		return nil, status.Errorf(codes.InvalidArgument, "%s: body is %d bytes; the limit is %d", actionLoadRuleset, len(body), maxRulesetActionBytes)
	}
	var req loadRulesetRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, `%s: body is not JSON {"name": ..., "rules": [{"path": ..., "yaml": ...}]}: %v`, actionLoadRuleset, err)
	}
	if err := validRulesetName(req.Name); err != nil {
		return nil, err
	}
	rs := &sigmaql.Ruleset{Name: req.Name}
	res := loadRulesetResult{Name: req.Name, Rejected: []rejectedRule{}}
	files := map[string]string{}
	for i, f := range req.Rules {
		p := f.Path
		if p == "" {
			p = fmt.Sprintf("rule%d.yml", i+1)
		}
		files[p] = f.YAML
		rules, diags := sigmaql.ParseRules(p, []byte(f.YAML))
		rs.Rules = append(rs.Rules, rules...)
		for _, d := range diags {
			if d.Warning {
				continue
			}
			res.Rejected = append(res.Rejected, rejectedRule{Path: d.File, Line: d.Line, Column: d.Column, Reason: d.Message})
		}
	}
	res.Loaded = len(rs.Rules)
	res.Rules = res.Loaded + len(res.Rejected)
	if res.Loaded == 0 {
		reasons := make([]string, 0, 3)
		for _, r := range res.Rejected[:min(3, len(res.Rejected))] {
			reasons = append(reasons, fmt.Sprintf("%s:%d:%d: %s", r.Path, r.Line, r.Column, r.Reason))
		}
		return nil, status.Errorf(codes.InvalidArgument, "%s %q: no rule loaded (%d rejected%s); the previous ruleset, if any, is kept",
			actionLoadRuleset, req.Name, len(res.Rejected), joinPrefixed(reasons))
	}
	s.rules.addRuleset(rs)
	s.sources.set(rs.Name, files)
	s.log.Info("ruleset loaded", "ruleset", rs.Name, "rules", res.Loaded, "rejected", len(res.Rejected), "user", identityFrom(ctx).Subject)
	return res, nil
}

func joinPrefixed(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}

func validRulesetName(name string) error {
	if name == "" || len(name) > 128 || strings.ContainsAny(name, "'\"\\/\x00") {
		return status.Errorf(codes.InvalidArgument, "%s: ruleset name %q must be 1-128 characters without quotes, slashes or backslashes", actionLoadRuleset, name)
	}
	return nil
}

type rulesetSummary struct {
	Name  string `json:"name"`
	Rules int    `json:"rules"`
}

func (s *flightSQLService) listRulesetsAction() any {
	out := []rulesetSummary{}
	for _, name := range s.rules.rulesetNames() {
		rs, err := s.rules.Ruleset(context.Background(), name)
		if err != nil {
			continue
		}
		out = append(out, rulesetSummary{Name: name, Rules: len(rs.Rules)})
	}
	return out
}

type ruleInfo struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Level  string   `json:"level"`
	Status string   `json:"status"`
	Tags   []string `json:"tags"`
	File   string   `json:"file"`
	YAML   string   `json:"yaml"`
}

func (s *flightSQLService) getRulesetAction(body []byte) (any, error) {
	var req struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Name == "" {
		return nil, status.Errorf(codes.InvalidArgument, `%s: body must be JSON {"name": "<ruleset>"}`, actionGetRuleset)
	}
	rs, err := s.rules.Ruleset(context.Background(), req.Name)
	if err != nil {
		return nil, toStatus(err)
	}
	rules := make([]ruleInfo, 0, len(rs.Rules))
	for _, r := range rs.Rules {
		tags := r.Tags
		if tags == nil {
			tags = []string{}
		}
		rules = append(rules, ruleInfo{ID: r.ID, Title: r.Title, Level: r.Level, Status: r.Status, Tags: tags,
			File: r.File, YAML: s.sources.get(rs.Name, r.File)})
	}
	sort.SliceStable(rules, func(i, j int) bool { return path.Clean(rules[i].File) < path.Clean(rules[j].File) })
	return map[string]any{"name": rs.Name, "rules": rules}, nil
}
