package planner

import "fmt"

// oracleQueries is the semantic suite run against DuckDB (TestOracle). A query written
// "ours ||| duckdb" uses different spellings of the same question in the two engines.
// Queries with a top-level ORDER BY are compared in order, so their order is total.
func oracleQueries() []string {
	var q []string
	add := func(s ...string) { q = append(q, s...) }

	// Filters: each predicate selects ids.
	preds := []string{
		`pid = 120`, `pid <> 120`, `pid < 130`, `pid <= 130`, `pid > 200`, `pid >= 200`,
		`pid BETWEEN 120 AND 160`, `pid NOT BETWEEN 120 AND 160`, `pid IN (100, 104, 200)`, `pid NOT IN (100, 104, 200)`,
		`pid IN (100, NULL)`, `pid NOT IN (100, NULL)`, `pid IS NULL`, `pid IS NOT NULL`,
		`score > 10.5`, `score < 0`, `score = 0`, `score BETWEEN -10 AND 10`, `score IS NULL`,
		`host = 'WS01'`, `host <> 'WS01'`, `host < 'b'`, `host >= 'srv'`, `host IN ('WS01', 'DC01')`,
		`account IS NULL`, `account = 'alice' OR account = 'bob'`, `NOT (account = 'alice')`,
		`image LIKE '%cmd.exe'`, `image LIKE 'C:/Windows/%'`, `image LIKE '%System32%'`, `image NOT LIKE '%.exe'`,
		`image LIKE 'C:/Windows/System32/_md.exe'`, `cmd LIKE '%who%all'`, `image ILIKE '%POWERSHELL%'`, `cmd ILIKE 'CMD%'`,
		`ok`, `NOT ok`, `ok IS NULL`, `ok = true AND pid > 150`, `ok OR score > 100`,
		`ts >= '2024-05-03' AND ts < '2024-05-04'`, `ts < '2024-05-02 12:00:00'`, `ts IS NULL`,
		`EventID = 4688 AND (pid > 200 OR score < 0)`, `(EventID = 4624 OR EventID = 4625) AND account IS NOT NULL`,
		`pid + ppid > 300`, `pid * 2 = ppid`, `pid % 8 = 0`, `score * 2 > pid`, `-score > 10`,
		`lower(host) = 'ws01'`, `upper(account) = 'CAROL'`, `length(cmd) > 12`, `substr(host, 1, 2) = 'ws'`,
		`cmd || '!' LIKE '%add!'`, `concat(host, '-', account) = 'WS01-alice'`, `replace(image, '/', '|') LIKE '%|cmd.exe'`,
		`split_part(image, '/', 2) = 'Windows'`, `coalesce(account, 'none') = 'none'`, `COALESCE(pid, ppid, 0) > 150`,
		`CASE WHEN score > 0 THEN 'pos' ELSE 'neg' END = 'pos'`, `CAST(pid AS VARCHAR) LIKE '1%'`, `CAST(score AS INTEGER) = 10`,
		`extract(hour FROM ts) BETWEEN 9 AND 17`, `date_trunc('day', ts) = '2024-05-05'`, `ts + INTERVAL 1 DAY < '2024-05-03'`,
		`regexp_matches(cmd, '^(cmd|whoami)')`, `starts_with(image, 'C:/Windows')`, `strpos(cmd, 'user') > 0`,
		`nullif(pid, 100) IS NULL`, `greatest(pid, ppid) > 250`, `least(pid, ppid) < 110`, `abs(score) < 5`,
		`trim(cmd) = cmd`,
		`pid IN (SELECT pid FROM proc)`, `pid NOT IN (SELECT pid FROM proc)`, `pid NOT IN (SELECT parent FROM proc)`,
		`pid IN (SELECT parent FROM proc WHERE name = 'bash') AND host <> 'DC01'`, `ppid NOT IN (SELECT pid FROM proc WHERE pid > 1000)`,
		`host IN (SELECT host FROM ev WHERE score > 240)`,
	}
	for _, p := range preds {
		if ours, duck, ok := cut(p); ok {
			add(fmt.Sprintf(`SELECT id FROM ev WHERE %s ||| SELECT id FROM ev WHERE %s`, ours, duck))
			continue
		}
		add(`SELECT id FROM ev WHERE ` + p)
	}

	// Projections, expressions and functions.
	add(
		`SELECT id, pid + 1, pid - ppid, pid * 3, pid / 8, pid % 7 FROM ev`,
		`SELECT id, score + pid, score * 2, score / 4, -score FROM ev`,
		`SELECT id, pid DIV 8 FROM ev ||| SELECT id, pid // 8 FROM ev`,
		`SELECT id, lower(account), upper(host), length(image), char_length(cmd) FROM ev`,
		`SELECT id, substr(cmd, 3), substring(cmd, 2, 4), substr(cmd, 0, 3), left(host, 2), right(host, 2) FROM ev`,
		`SELECT id, concat(host, '/', account), host || '/' || account FROM ev`,
		`SELECT id, replace(cmd, ' ', '_'), split_part(cmd, ' ', 1), split_part(cmd, ' ', 2), split_part(cmd, ' ', 9) FROM ev`,
		`SELECT id, trim('  x  '), ltrim('  x'), rtrim('x  '), reverse(host) FROM ev WHERE id < 5`,
		`SELECT id, coalesce(account, host), ifnull(pid, -1), nullif(host, 'WS01') FROM ev`,
		`SELECT id, CASE WHEN pid IS NULL THEN 'none' WHEN pid < 150 THEN 'low' ELSE 'high' END FROM ev`,
		`SELECT id, CASE host WHEN 'WS01' THEN 1 WHEN 'ws02' THEN 2 END FROM ev`,
		`SELECT id, CASE WHEN ok THEN score END FROM ev`,
		`SELECT id, CAST(pid AS VARCHAR), CAST(score AS BIGINT), CAST('42' AS INTEGER), CAST(pid AS DOUBLE) FROM ev`,
		`SELECT id, CAST(ts AS VARCHAR) FROM ev`,
		`SELECT id, CAST('2024-05-01 10:00:00' AS TIMESTAMP) FROM ev WHERE id = 1`,
		`SELECT id, round(score), round(score, 1), floor(score), ceil(score), abs(score) FROM ev`,
		`SELECT id, greatest(pid, ppid), least(pid, ppid) FROM ev WHERE pid IS NOT NULL AND ppid IS NOT NULL`,
		`SELECT id, extract(year FROM ts), extract(month FROM ts), extract(day FROM ts), extract(hour FROM ts), extract(minute FROM ts), extract(second FROM ts) FROM ev`,
		`SELECT id, date_part('hour', ts), date_part('dow', ts), date_part('doy', ts) FROM ev`,
		`SELECT id, date_trunc('hour', ts), date_trunc('day', ts), date_trunc('month', ts), date_trunc('week', ts) FROM ev`,
		`SELECT id, date_trunc('minute', ts), date_trunc('second', ts), date_trunc('year', ts), date_trunc('quarter', ts) FROM ev`,
		`SELECT id, ts + INTERVAL 1 HOUR, ts - INTERVAL 30 MINUTE, ts + INTERVAL 2 DAY FROM ev`,
		`SELECT id, ts + INTERVAL 1 MONTH FROM ev WHERE id < 20`,
		`SELECT id, pid > 150, score IS NULL, host LIKE 'W%', NOT ok FROM ev`,
		`SELECT id, pid IN (100, 120) FROM ev`,
		`SELECT id, regexp_matches(cmd, 'who') FROM ev`,
		`SELECT id, strpos(cmd, 'e'), starts_with(cmd, 'cmd'), contains(cmd, 'user') FROM ev`,
		`SELECT 1 + 1, 'a' || 'b', 7 / 2, 7 % 3, CAST(1.5 AS VARCHAR), upper('x')`,
		`SELECT id, 'const', 42, 2.5, NULL FROM ev WHERE id <= 3`,
		`SELECT id AS "Id", "host" AS "Host Name", ev."EventID" FROM ev`,
		`SELECT ev.* FROM ev WHERE id = 7`,
		`SELECT * FROM ev WHERE id BETWEEN 10 AND 12`,
		`SELECT id, epoch(ts) FROM ev WHERE ts IS NOT NULL`,
	)

	// Aggregates and grouping.
	add(
		`SELECT count(*) FROM ev`,
		`SELECT count(*), count(pid), count(account), count(DISTINCT host), count(DISTINCT account) FROM ev`,
		`SELECT sum(pid), min(pid), max(pid), avg(pid) FROM ev`,
		`SELECT sum(score), min(score), max(score), avg(score) FROM ev`,
		`SELECT min(host), max(host), min(ts), max(ts) FROM ev`,
		`SELECT count(*), sum(pid), avg(score), min(account) FROM ev WHERE id < 0`,
		`SELECT host, count(*) FROM ev GROUP BY host`,
		`SELECT host, account, count(*) FROM ev GROUP BY host, account`,
		`SELECT account, count(*), sum(score) FROM ev GROUP BY account`,
		`SELECT EventID, count(*), count(DISTINCT host), min(pid), max(pid), avg(score) FROM ev GROUP BY EventID`,
		`SELECT ok, count(*) FROM ev GROUP BY ok`,
		`SELECT pid, count(*) FROM ev GROUP BY pid`,
		`SELECT score, count(*) FROM ev GROUP BY score`,
		`SELECT host AS h, count(*) AS n FROM ev GROUP BY h`,
		`SELECT host, count(*) FROM ev GROUP BY 1`,
		`SELECT lower(host), count(*) FROM ev GROUP BY lower(host)`,
		`SELECT date_trunc('day', ts) AS day, count(*) FROM ev GROUP BY date_trunc('day', ts)`,
		`SELECT date_trunc('hour', ts), count(*), max(score) FROM ev GROUP BY 1`,
		`SELECT extract(hour FROM ts) AS h, count(*) FROM ev GROUP BY extract(hour FROM ts)`,
		`SELECT host, count(*) FROM ev GROUP BY host HAVING count(*) > 70`,
		`SELECT host, avg(score) FROM ev GROUP BY host HAVING avg(score) > 50`,
		`SELECT account, count(*) FROM ev GROUP BY account HAVING account IS NOT NULL`,
		`SELECT host, count(*) * 2, sum(pid) / count(pid), max(pid) - min(pid) FROM ev GROUP BY host`,
		`SELECT host, CASE WHEN count(*) > 75 THEN 'busy' ELSE 'quiet' END FROM ev GROUP BY host`,
		`SELECT host, count(CASE WHEN ok THEN 1 END), sum(CASE WHEN EventID = 4688 THEN 1 ELSE 0 END) FROM ev GROUP BY host`,
		`SELECT count(*) FROM ev WHERE EventID = 4688 AND ok`,
		`SELECT count(DISTINCT pid) FROM ev`,
		`SELECT host, count(DISTINCT pid), count(DISTINCT cmd) FROM ev GROUP BY host`,
		`SELECT EventID, host, count(*) FROM ev WHERE score > 0 GROUP BY EventID, host HAVING count(*) >= 5`,
		`SELECT substr(cmd, 1, 3) AS c3, count(*) FROM ev GROUP BY c3`,
		`SELECT coalesce(account, '?'), count(*) FROM ev GROUP BY coalesce(account, '?')`,
		`SELECT max(length(cmd)), min(length(image)) FROM ev`,
		`SELECT count(*) FROM (SELECT DISTINCT host, account FROM ev) AS t`,
	)

	// ORDER BY, LIMIT, OFFSET, top-N, DISTINCT.
	add(
		`SELECT id, pid FROM ev ORDER BY id`,
		`SELECT id, pid FROM ev ORDER BY pid, id`,
		`SELECT id, pid FROM ev ORDER BY pid DESC, id`,
		`SELECT id, pid FROM ev ORDER BY pid NULLS FIRST, id`,
		`SELECT id, pid FROM ev ORDER BY pid DESC NULLS LAST, id DESC`,
		`SELECT id, score FROM ev ORDER BY score DESC NULLS FIRST, id LIMIT 15`,
		`SELECT id, host FROM ev ORDER BY host, id DESC LIMIT 10 OFFSET 5`,
		`SELECT id FROM ev ORDER BY id LIMIT 5`,
		`SELECT id FROM ev ORDER BY id DESC LIMIT 5 OFFSET 290`,
		`SELECT id FROM ev ORDER BY id LIMIT 0`,
		`SELECT id, ts FROM ev ORDER BY ts, id LIMIT 20`,
		`SELECT id, ts FROM ev ORDER BY ts DESC NULLS LAST, id LIMIT 20`,
		`SELECT id, account FROM ev ORDER BY account NULLS FIRST, id LIMIT 30`,
		`SELECT id, pid + ppid AS s FROM ev ORDER BY s, id`,
		`SELECT id FROM ev ORDER BY score * -1, id`,
		`SELECT id, host FROM ev ORDER BY lower(host), id`,
		`SELECT id FROM ev ORDER BY 1 DESC LIMIT 3`,
		`SELECT host, count(*) AS n FROM ev GROUP BY host ORDER BY n DESC, host`,
		`SELECT host, count(*) FROM ev GROUP BY host ORDER BY count(*), host`,
		`SELECT host, account, count(*) AS n FROM ev GROUP BY host, account ORDER BY n DESC, host, account LIMIT 5`,
		`SELECT EventID, max(score) FROM ev GROUP BY EventID ORDER BY max(score) DESC NULLS LAST, EventID`,
		`SELECT date_trunc('day', ts) AS d, count(*) FROM ev GROUP BY 1 ORDER BY 1 NULLS LAST`,
		`SELECT DISTINCT host FROM ev`,
		`SELECT DISTINCT host, EventID FROM ev`,
		`SELECT DISTINCT account FROM ev ORDER BY account NULLS FIRST`,
		`SELECT DISTINCT pid % 3 FROM ev`,
		`SELECT DISTINCT ok FROM ev ORDER BY ok NULLS FIRST`,
		`SELECT id, cmd FROM ev WHERE pid > 200 ORDER BY cmd, id LIMIT 7`,
		`SELECT id FROM ev WHERE ok ORDER BY id DESC LIMIT 4 OFFSET 2`,
		`SELECT id, image FROM ev ORDER BY image DESC NULLS LAST, id LIMIT 12`,
	)

	// Subqueries, CTEs, UNION.
	add(
		`SELECT * FROM (SELECT id, host FROM ev WHERE pid > 150) AS t WHERE host = 'WS01'`,
		`SELECT t.h, t.n FROM (SELECT host AS h, count(*) AS n FROM ev GROUP BY host) AS t WHERE t.n > 70`,
		`SELECT count(*) FROM (SELECT * FROM ev WHERE EventID = 4688) AS sub`,
		`SELECT max(n) FROM (SELECT account, count(*) AS n FROM ev GROUP BY account) AS t`,
		`SELECT * FROM (SELECT id, pid * 2 AS p2 FROM ev) AS t WHERE p2 > 300`,
		`SELECT a.id FROM (SELECT * FROM (SELECT id, host FROM ev) AS x WHERE host LIKE 'w%') AS a`,
		`WITH hot AS (SELECT host, count(*) AS n FROM ev GROUP BY host) SELECT host FROM hot WHERE n > 70`,
		`WITH a AS (SELECT id, pid FROM ev WHERE pid < 130), b AS (SELECT id FROM a WHERE pid > 110) SELECT count(*) FROM b`,
		`WITH x (i, p) AS (SELECT id, pid FROM ev) SELECT i FROM x WHERE p = 120`,
		`WITH t AS (SELECT host, avg(score) AS a FROM ev GROUP BY host) SELECT t1.host FROM t AS t1 JOIN t AS t2 ON t1.a > t2.a`,
		`SELECT id FROM ev WHERE pid = 100 UNION ALL SELECT id FROM ev WHERE pid = 104`,
		`SELECT host FROM ev UNION SELECT account FROM ev`,
		`SELECT host FROM ev WHERE id < 10 UNION ALL SELECT host FROM ev WHERE id < 5`,
		`SELECT pid FROM ev UNION ALL SELECT pid FROM proc ORDER BY 1 NULLS FIRST`,
		`SELECT pid, score FROM ev WHERE id < 4 UNION ALL SELECT pid, 1 FROM proc WHERE pid < 110`,
		`SELECT count(*) FROM (SELECT host FROM ev UNION ALL SELECT name FROM proc) AS u`,
		`SELECT x FROM (SELECT host AS x FROM ev UNION SELECT name FROM proc) AS u ORDER BY x`,
		`WITH u AS (SELECT pid FROM ev UNION ALL SELECT pid FROM proc) SELECT pid, count(*) FROM u GROUP BY pid`,
	)

	// Joins.
	add(
		`SELECT e.id, p.name FROM ev e JOIN proc p ON e.pid = p.pid`,
		`SELECT e.id, p.name FROM ev AS e INNER JOIN proc AS p ON p.pid = e.ppid`,
		`SELECT e.id, p.name FROM ev e LEFT JOIN proc p ON e.pid = p.pid`,
		`SELECT e.id, p.name FROM ev e LEFT JOIN proc p ON e.pid = p.pid WHERE p.name IS NULL`,
		`SELECT e.id, p.name FROM proc p RIGHT JOIN ev e ON e.pid = p.pid`,
		`SELECT e.id, p.name FROM ev e JOIN proc p ON e.pid = p.pid AND p.name LIKE '%exe'`,
		`SELECT e.id, p.name FROM ev e LEFT JOIN proc p ON e.pid = p.pid AND p.name = 'bash'`,
		`SELECT e.id, p.name, q.name FROM ev e JOIN proc p ON e.pid = p.pid JOIN proc q ON p.parent = q.pid`,
		`SELECT p.name, count(*) FROM ev e JOIN proc p ON e.pid = p.pid GROUP BY p.name`,
		`SELECT p.name, count(e.id) FROM proc p LEFT JOIN ev e ON e.pid = p.pid GROUP BY p.name`,
		`SELECT e.id, p.pid FROM ev e JOIN proc p USING (pid)`,
		`SELECT e.id, c.name, par.name FROM ev e JOIN proc c ON e.pid = c.pid LEFT JOIN proc par ON c.parent = par.pid WHERE e.EventID = 4688`,
		`SELECT a.id, b.id FROM ev a JOIN ev b ON a.pid = b.ppid WHERE a.host = b.host`,
		`SELECT count(*) FROM ev a JOIN ev b ON a.pid = b.pid`,
		`SELECT a.name, b.name FROM proc a, proc b WHERE a.parent = b.pid`,
		`SELECT count(*) FROM proc a CROSS JOIN proc b`,
		`SELECT e.id FROM ev e JOIN proc p ON e.pid = p.pid AND e.score > p.pid`,
		`SELECT e.host, p.name, count(*) AS n FROM ev e JOIN proc p ON e.pid = p.pid GROUP BY e.host, p.name ORDER BY n DESC, e.host, p.name LIMIT 10`,
		`WITH pp AS (SELECT pid, name FROM proc WHERE name <> 'bash') SELECT e.id, pp.name FROM ev e JOIN pp ON e.pid = pp.pid WHERE e.ok`,
		`SELECT e.id, p.name FROM ev e JOIN (SELECT pid, name FROM proc WHERE parent IS NOT NULL) AS p ON e.pid = p.pid`,
		`SELECT e.id, p.name FROM ev e LEFT JOIN proc p ON e.pid = p.pid WHERE e.id < 40 ORDER BY e.id`,
		`SELECT e.id, p.name FROM ev e LEFT JOIN proc p ON CAST(e.pid AS DOUBLE) = p.pid`,
	)

	// What BI tools send (Superset, Grafana, DBeaver, Metabase).
	add(
		// Superset: the dataset query wrapped in a subquery, LIMIT outside, time grain.
		`SELECT "host" AS "host", count(*) AS "count" FROM (SELECT * FROM ev) AS "virtual_table" GROUP BY "host" ORDER BY "count" DESC, "host" LIMIT 10000`,
		`SELECT date_trunc('day', "ts") AS "__timestamp", count(*) AS "count" FROM "ev" WHERE "ts" >= '2024-05-02 00:00:00' AND "ts" < '2024-05-06 00:00:00' GROUP BY date_trunc('day', "ts") ORDER BY "count" DESC, "__timestamp" LIMIT 10000`,
		`SELECT "host" AS "host", "EventID" AS "EventID", max("score") AS "MAX(score)" FROM "ev" GROUP BY "host", "EventID" ORDER BY "MAX(score)" DESC NULLS LAST, "host", "EventID" LIMIT 100`,
		`SELECT * FROM (SELECT "id", "host", "pid" FROM "ev" WHERE "pid" > 200) AS "virtual_table" LIMIT 1000 ||| SELECT * FROM (SELECT "id", "host", "pid" FROM "ev" WHERE "pid" > 200) AS "virtual_table" LIMIT 1000`,
		`SELECT count(*) AS "count" FROM (SELECT * FROM "ev" WHERE "account" IS NOT NULL) AS "virtual_table"`,
		`SELECT "account" AS "account", count(DISTINCT "host") AS "COUNT_DISTINCT(host)" FROM "ev" GROUP BY "account" ORDER BY "COUNT_DISTINCT(host)" DESC, "account" NULLS FIRST LIMIT 50`,
		// Grafana: time buckets, $__timeFilter expanded, ORDER BY time.
		`SELECT date_trunc('hour', ts) AS "time", count(*) AS "events" FROM ev WHERE ts BETWEEN '2024-05-02T00:00:00Z' AND '2024-05-03T00:00:00Z' GROUP BY 1 ORDER BY 1`,
		`SELECT date_trunc('minute', ts) AS time, host AS metric, count(*) AS value FROM ev WHERE ts >= '2024-05-01' AND ts <= '2024-05-08' GROUP BY 1, 2 ORDER BY 1, 2`,
		`SELECT to_timestamp(floor(epoch(ts) / 3600) * 3600) AS time, count(*) FROM ev WHERE ts IS NOT NULL GROUP BY 1 ORDER BY 1`,
		// DBeaver / JDBC: quoted identifiers, qualified names, data preview with LIMIT.
		`SELECT * FROM "ev" LIMIT 200 ||| SELECT * FROM "ev" LIMIT 200`,
		`SELECT t.* FROM ev t WHERE t."EventID" = 4688 AND t."host" = 'WS01'`,
		`SELECT count(*) FROM "ev"`,
		`SELECT "id", "cmd" FROM "ev" WHERE "cmd" LIKE '%whoami%' ORDER BY "id" LIMIT 200`,
		// Metabase: CASTs and nested aggregation.
		`SELECT CAST("ts" AS DATE) AS "ts", count(*) AS "count" FROM "ev" GROUP BY CAST("ts" AS DATE) ORDER BY CAST("ts" AS DATE) NULLS LAST`,
		`SELECT "source"."host" AS "host", "source"."n" AS "n" FROM (SELECT "host", count(*) AS "n" FROM "ev" GROUP BY "host") AS "source" ORDER BY "source"."n" DESC, "source"."host"`,
	)

	// NULL semantics and edge cases.
	add(
		`SELECT id FROM ev WHERE pid = NULL`,
		`SELECT id FROM ev WHERE NOT (pid > 150)`,
		`SELECT id FROM ev WHERE NOT (pid > 150 AND ok)`,
		`SELECT id FROM ev WHERE pid > 150 OR pid IS NULL`,
		`SELECT id, pid + NULL, concat(host, NULL), host || NULL FROM ev WHERE id < 5`,
		`SELECT NULL IS NULL, 1 = 1, 1 < 2 AND 2 < 1`,
		`SELECT count(*) FROM ev WHERE account IN ('alice', NULL)`,
		`SELECT count(*) FROM ev WHERE account NOT IN ('alice', NULL)`,
		`SELECT sum(pid) FROM ev WHERE pid IS NULL`,
		`SELECT host, sum(CASE WHEN pid IS NULL THEN 1 ELSE 0 END) FROM ev GROUP BY host`,
		`SELECT id FROM ev WHERE score BETWEEN NULL AND 10`,
		`SELECT coalesce(NULL, NULL, 'x'), nullif(1, 1), nullif(1, 2)`,
		`SELECT id FROM ev WHERE id IN (1, 2, 3) AND NOT id IN (2)`,
		`SELECT id FROM ev WHERE 1 = 0`,
		`SELECT id FROM ev WHERE 1 = 1 AND id < 4`,
		`SELECT count(*) FROM ev WHERE cmd LIKE '%' `,
		`SELECT count(*) FROM ev WHERE image LIKE '%'`,
		`SELECT id FROM ev WHERE cmd LIKE '%!_%' ESCAPE '!'`, `SELECT id FROM ev WHERE host LIKE 'srv!-%' ESCAPE '!'`,
		`SELECT id FROM ev WHERE cmd LIKE '%/%' ESCAPE '!'`,
		`SELECT id FROM ev WHERE host LIKE 'ws__'`,
		`SELECT min(id), max(id) FROM ev WHERE host = 'nosuch'`,
		`SELECT host, count(*) FROM ev WHERE host = 'nosuch' GROUP BY host`,
	)
	return q
}

// cut splits "ours ||| duckdb".
func cut(s string) (string, string, bool) {
	for i := 0; i+5 <= len(s); i++ {
		if s[i:i+5] == " ||| " {
			return s[:i], s[i+5:], true
		}
	}
	return "", "", false
}
