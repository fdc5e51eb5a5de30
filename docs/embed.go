// Package docs holds the user documentation and the example ruleset shipped in the binary.
package docs

import "embed"

// ExampleRules is the example Sigma ruleset "examples", under examples/rules/*.yml.
//
//go:embed examples/rules/*.yml
var ExampleRules embed.FS
