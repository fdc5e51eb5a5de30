// Command benchratio reads `go test -bench` output on stdin and prints, for every benchmark
// that has a baseline sibling in the same run, its throughput and its ratio to that
// baseline. Siblings differ in one path element: `engine=columnar` is compared with
// `engine=reference`, `kernel=X` with `kernel=*-generic`, `change=record` with
// `change=checkpoint`, `literals=raw` with `literals=huffman`, `offsets=deltas` with
// `offsets=plain`.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// baselines maps a sub-benchmark key to a predicate that recognises its baseline value.
var baselines = map[string]func(string) bool{
	"engine":   func(v string) bool { return v == "reference" },
	"kernel":   func(v string) bool { return strings.HasSuffix(v, "-generic") },
	"change":   func(v string) bool { return v == "checkpoint" },
	"literals": func(v string) bool { return v == "huffman" },
	"offsets":  func(v string) bool { return v == "plain" },
}

type result struct {
	name    string
	nsPerOp float64
	metrics map[string]float64 // unit -> value, e.g. "events/s", "MB/s"
}

var lineRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func main() {
	var results []result
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		m := lineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		r := result{name: m[1], metrics: map[string]float64{}}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if f[i+1] == "ns/op" {
				r.nsPerOp = v
			}
			r.metrics[f[i+1]] = v
		}
		results = append(results, r)
	}
	byName := map[string]result{}
	for _, r := range results {
		byName[r.name] = r
	}
	fmt.Println("\nthroughput and same-run ratio to baseline")
	var lines []string
	for _, r := range results {
		base, ok := baselineOf(r.name, byName)
		if !ok {
			lines = append(lines, fmt.Sprintf("%-70s %s", r.name, throughput(r)))
			continue
		}
		lines = append(lines, fmt.Sprintf("%-70s %s  %.2fx vs %s", r.name, throughput(r), ratio(r, base), lastElem(base.name)))
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
}

// baselineOf finds the baseline sibling of name, if name is not itself a baseline.
func baselineOf(name string, byName map[string]result) (result, bool) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		key, val, ok := strings.Cut(p, "=")
		isBase, known := baselines[key]
		if !ok || !known || isBase(val) {
			continue
		}
		for _, r := range byName {
			rp := strings.Split(r.name, "/")
			if len(rp) != len(parts) || r.name == name {
				continue
			}
			same := true
			for j := range rp {
				if j != i && rp[j] != parts[j] {
					same = false
				}
			}
			if k, v, _ := strings.Cut(rp[i], "="); same && k == key && isBase(v) {
				return r, true
			}
		}
	}
	return result{}, false
}

// throughputUnits are the rate metrics, in order of preference for ratios: a benchmark
// may run its baseline on a sample of the input, so ns/op is compared only when neither
// side reports a rate.
var throughputUnits = []string{"events/s", "events/s/core", "events/cpu-s", "rows/s", "rows/s/core", "MB/s", "changes/s"}

// ratio returns how many times faster r is than base.
func ratio(r, base result) float64 {
	for _, unit := range throughputUnits {
		v, ok1 := r.metrics[unit]
		b, ok2 := base.metrics[unit]
		if ok1 && ok2 && b > 0 {
			return v / b
		}
	}
	return base.nsPerOp / r.nsPerOp
}

func throughput(r result) string {
	var parts []string
	for _, unit := range throughputUnits {
		if v, ok := r.metrics[unit]; ok {
			parts = append(parts, fmt.Sprintf("%12.0f %s", v, unit))
		}
	}
	// Same-run comparisons a benchmark computes itself (detect() in SQL against hunt;
	// sealing beside acknowledgements; ack latency against the disk's own floor at the
	// same rate).
	for _, unit := range []string{"hunt-events/s", "sql-events/s", "sql/hunt", "sealed-events/s", "p50-ack-ms", "p99-ack-ms", "disk-floor-p99-ms"} {
		if v, ok := r.metrics[unit]; ok {
			parts = append(parts, fmt.Sprintf("%.3g %s", v, unit))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%12.0f ns/op", r.nsPerOp))
	}
	return strings.Join(parts, " ")
}

func lastElem(name string) string { return name[strings.LastIndex(name, "/")+1:] }
