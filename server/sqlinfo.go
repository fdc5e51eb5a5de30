package server

import (
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
)

// sqlInfo lists the SqlInfo values the server publishes, each with the exact Go type the
// clients read (FLIGHTSQL.md section 2.4): ADBC reads 0-11 at GetInfo and Open.
func sqlInfo() map[flightsql.SqlInfo]any {
	return map[flightsql.SqlInfo]any{
		flightsql.SqlInfoFlightSqlServerName:                        "sigmaflight",
		flightsql.SqlInfoFlightSqlServerVersion:                     Version,
		flightsql.SqlInfoFlightSqlServerArrowVersion:                arrowVersion,
		flightsql.SqlInfoFlightSqlServerReadOnly:                    false,
		flightsql.SqlInfoFlightSqlServerSql:                         true,
		flightsql.SqlInfoFlightSqlServerSubstrait:                   false,
		flightsql.SqlInfoFlightSqlServerSubstraitMinVersion:         "",
		flightsql.SqlInfoFlightSqlServerSubstraitMaxVersion:         "",
		flightsql.SqlInfoFlightSqlServerTransaction:                 int32(flightsql.SqlTransactionNone),
		flightsql.SqlInfoFlightSqlServerCancel:                      false,
		flightsql.SqlInfoFlightSqlServerBulkIngestion:               true,
		flightsql.SqlInfoFlightSqlServerIngestTransactionsSupported: false,
		flightsql.SqlInfoFlightSqlServerStatementTimeout:            int32(0),
		flightsql.SqlInfoFlightSqlServerTransactionTimeout:          int32(0),
		flightsql.SqlInfoIdentifierQuoteChar:                        `"`,
		flightsql.SqlInfoSearchStringEscape:                         `\`,
		flightsql.SqlInfoCatalogTerm:                                "catalog",
		flightsql.SqlInfoSchemaTerm:                                 "schema",
		flightsql.SqlInfoProcedureTerm:                              "procedure",
	}
}

// arrowVersion is the arrow-go release the server is built with.
const arrowVersion = "18.8.0"

func registerSQLInfo(b *flightsql.BaseServer) error {
	for id, v := range sqlInfo() {
		if err := b.RegisterSqlInfo(id, v); err != nil {
			return err
		}
	}
	return nil
}

// knownSQLInfo drops the ids the server does not publish: the specification lets a server
// omit them, and arrow-go's BaseServer would otherwise fail the whole request.
type knownSQLInfo []uint32

func (k knownSQLInfo) GetInfo() []uint32 {
	known := sqlInfo()
	out := make([]uint32, 0, len(k))
	for _, id := range k {
		if _, ok := known[flightsql.SqlInfo(id)]; ok {
			out = append(out, id)
		}
	}
	if len(out) == 0 && len(k) > 0 {
		// An empty list would mean "everything"; ask for one id we know instead.
		out = append(out, uint32(flightsql.SqlInfoFlightSqlServerName))
	}
	return out
}
