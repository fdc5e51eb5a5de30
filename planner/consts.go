package planner

// Output batch limits. Flight clients commonly cap inbound gRPC messages at 4 MiB
// (grpc-go and arrow-go defaults; see shared/FLIGHTSQL.md pitfall 10), and one Flight
// message carries one record batch, so the planner splits its output by bytes as well as
// by rows.
const (
	// maxOutputRows bounds the rows of one output batch: 64Ki rows keeps per-batch
	// overhead negligible while staying friendly to clients that buffer a batch whole.
	maxOutputRows = 64 * 1024
	// maxOutputBytes is the approximate byte budget of one output batch, estimated
	// from the input buffers before materialisation; it stays under the 4 MiB limit
	// with room for IPC framing and metadata.
	maxOutputBytes = 4<<20 - 256<<10
)

// Rule metadata column names appended by detect(), in this order, after the table's
// columns.
const (
	colRuleID    = "rule_id"
	colRuleTitle = "rule_title"
	colRuleLevel = "rule_level"
	colRuleTags  = "rule_tags"
)

// defaultDetectTable is the table detect('ruleset') scans when no table is given.
const defaultDetectTable = "events"

// catalogName is the only catalog name accepted in three-part table names
// (sigmaflight.public.t).
const catalogName = "sigmaflight"

// System schema names the planner serves itself (the Catalog serves the others).
const (
	sysSchema  = "sys"
	sysQueries = "queries"
)

// maxQueryDepth bounds the nesting of subqueries and CTE references, so that a hostile
// query cannot exhaust the stack.
const maxQueryDepth = 64

// maxDecimalDigits bounds the digits of a numeric literal without exponent: MySQL's
// DECIMAL holds 65, and TiDB's parser panics past 81.
const maxDecimalDigits = 65

// maxPlanNodes bounds the logical nodes a query's CTE references may copy (see
// bind_cte.go): each reference beyond the first copies the CTE's plan, so a chain of
// CTEs that each refer twice to the one before doubles at every level. 10,000 nodes is
// far beyond any hand-written query (a 60-CTE chain copies none) and binds in
// milliseconds; 2^25 nodes from 1.7 KB of SQL took hours.
const maxPlanNodes = 10000

// maxJoinPairs bounds the candidate pairs one left batch may produce in a join before
// the query fails with ErrMemoryLimit: a runaway cross join fails fast instead of
// allocating without bound.
const maxJoinPairs = 16 << 20

// recentQueries is how many finished queries sys.queries keeps.
const recentQueries = 200
