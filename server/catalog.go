package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sigmaflight/sigmaflight/planner"
	"github.com/sigmaflight/sigmaflight/sigmaql"
	"github.com/sigmaflight/sigmaflight/storage"
)

// Catalog names: one catalog, schema "public" for event tables.
const (
	catalogName  = "sigmaflight"
	publicSchema = "public"
)

// catalog is the planner's view of the node: event tables from storage and the loaded
// rulesets.
type catalog struct {
	store *storage.Store

	mu       sync.RWMutex
	rulesets map[string]*sigmaql.Ruleset
}

func newCatalog(store *storage.Store) *catalog {
	return &catalog{store: store, rulesets: make(map[string]*sigmaql.Ruleset)}
}

// addRuleset registers rs under its name, replacing any ruleset of that name.
func (c *catalog) addRuleset(rs *sigmaql.Ruleset) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rulesets[rs.Name] = rs
}

// rulesetNames returns the names of the loaded rulesets, sorted.
func (c *catalog) rulesetNames() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	names := make([]string, 0, len(c.rulesets))
	for n := range c.rulesets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (c *catalog) Table(ctx context.Context, schema, name string) (planner.Table, error) {
	if !isPublicSchema(schema) {
		return nil, fmt.Errorf("schema %q: %w (the only schema is %q)", schema, planner.ErrUnknownTable, publicSchema)
	}
	t, err := c.store.Table(name)
	if errors.Is(err, storage.ErrTableNotFound) {
		return nil, fmt.Errorf("table %q: %w", name, planner.ErrUnknownTable)
	}
	if err != nil {
		return nil, err
	}
	return storageTable{t}, nil
}

func (c *catalog) TableNames(ctx context.Context, schema string) []string {
	if !isPublicSchema(schema) {
		return nil
	}
	tables := c.store.Tables()
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name()
	}
	return names
}

func (c *catalog) Ruleset(ctx context.Context, name string) (*sigmaql.Ruleset, error) {
	c.mu.RLock()
	rs, ok := c.rulesets[name]
	c.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("ruleset %q: %w (loaded: %s)", name, planner.ErrUnknownRuleset, strings.Join(c.rulesetNames(), ", "))
	}
	return rs, nil
}

func isPublicSchema(s string) bool {
	return s == "" || strings.EqualFold(s, publicSchema)
}

// storageTable adapts a storage table to the planner's Table.
type storageTable struct{ t *storage.Table }

func (s storageTable) Schema() *arrow.Schema { return s.t.Schema() }

func (s storageTable) Scan(ctx context.Context, columns []string) (planner.BatchIterator, error) {
	return s.t.Scan(ctx, storage.ScanOptions{Columns: columns})
}
