package server

import (
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
)

// Bit masks and ordinals of SqlInfo values (FlightSql.proto enums).
const (
	sqlGroupByUnrelated       = 1 << 1 // SQL_GROUP_BY_UNRELATED
	sqlGrammarMinimum         = 1 << 0 // SQL_MINIMUM_GRAMMAR
	sqlANSI92Entry            = 1 << 0 // ANSI92_ENTRY_SQL
	sqlJoinsUnsupported       = 0      // SQL_JOINS_UNSUPPORTED (an ordinal, not a mask)
	sqlResultSetForwardOnly   = 1 << 1 // SQL_RESULT_SET_TYPE_FORWARD_ONLY
	sqlConcurrencyReadOnly    = 1 << 1 // SQL_RESULT_SET_CONCURRENCY_READ_ONLY
	sqlNullsSortedHigh        = 0      // SQL_NULLS_SORTED_HIGH
	sqlTransactionNoneOrdinal = 0      // SQL_TRANSACTION_NONE
)

// sqlInfo lists the SqlInfo values the server publishes, each with the exact Go type the
// clients read (FLIGHTSQL.md section 2.4): ADBC reads 0-11 at GetInfo and Open; the JDBC
// driver reads the 68 keys of its DatabaseMetaData with fixed Java types (String, Boolean,
// Long for the int64 limits, Integer for bit masks and ordinals, String lists, and the
// convert map), and a missing key or a wrong union member breaks it.
func sqlInfo() map[flightsql.SqlInfo]any {
	return map[flightsql.SqlInfo]any{
		// Server (ADBC GetInfo and Open).
		flightsql.SqlInfoFlightSqlServerName:                        "sigmaflight",
		flightsql.SqlInfoFlightSqlServerVersion:                     Version,
		flightsql.SqlInfoFlightSqlServerArrowVersion:                arrowVersion,
		flightsql.SqlInfoFlightSqlServerReadOnly:                    false,
		flightsql.SqlInfoFlightSqlServerSql:                         true,
		flightsql.SqlInfoFlightSqlServerSubstrait:                   false,
		flightsql.SqlInfoFlightSqlServerSubstraitMinVersion:         "",
		flightsql.SqlInfoFlightSqlServerSubstraitMaxVersion:         "",
		flightsql.SqlInfoFlightSqlServerTransaction:                 int32(flightsql.SqlTransactionNone),
		flightsql.SqlInfoFlightSqlServerCancel:                      true,
		flightsql.SqlInfoFlightSqlServerBulkIngestion:               true,
		flightsql.SqlInfoFlightSqlServerIngestTransactionsSupported: false,
		flightsql.SqlInfoFlightSqlServerStatementTimeout:            int32(0),
		flightsql.SqlInfoFlightSqlServerTransactionTimeout:          int32(0),

		// Strings.
		flightsql.SqlInfoIdentifierQuoteChar: `"`,
		flightsql.SqlInfoSearchStringEscape:  `\`,
		flightsql.SqlInfoExtraNameChars:      "",
		flightsql.SqlInfoSchemaTerm:          "schema",
		flightsql.SqlInfoProcedureTerm:       "procedure",
		flightsql.SqlInfoCatalogTerm:         "catalog",

		// Booleans.
		flightsql.SqlInfoDDLCatalog:                              false,
		flightsql.SqlInfoDDLSchema:                               false,
		flightsql.SqlInfoDDLTable:                                false,
		flightsql.SqlInfoAllTablesAreASelectable:                 true,
		flightsql.SqlInfoSupportsColumnAliasing:                  true,
		flightsql.SqlInfoNullPlusNullIsNull:                      true,
		flightsql.SqlInfoSupportsTableCorrelationNames:           true,
		flightsql.SqlInfoSupportsDifferentTableCorrelationNames:  false,
		flightsql.SqlInfoSupportsExpressionsInOrderBy:            false,
		flightsql.SqlInfoSupportsOrderByUnrelated:                true,
		flightsql.SqlInfoSupportsLikeEscapeClause:                false,
		flightsql.SqlInfoSupportsNonNullableColumns:              false,
		flightsql.SqlInfoSupportsIntegrityEnhancementFacility:    false,
		flightsql.SqlInfoCatalogAtStart:                          true,
		flightsql.SqlInfoSelectForUpdateSupported:                false,
		flightsql.SqlInfoStoredProceduresSupported:               false,
		flightsql.SqlInfoCorrelatedSubqueriesSupported:           false,
		flightsql.SqlInfoMaxRowSizeIncludesBlobs:                 true,
		flightsql.SqlInfoTransactionsSupported:                   false,
		flightsql.SqlInfoDataDefinitionCausesTransactionCommit:   false,
		flightsql.SqlInfoDataDefinitionsInTransactionsIgnored:    true,
		flightsql.SqlInfoBatchUpdatesSupported:                   false,
		flightsql.SqlInfoSavePointsSupported:                     false,
		flightsql.SqlInfoNamedParametersSupported:                false,
		flightsql.SqlInfoLocatorsUpdateCopy:                      false,
		flightsql.SqlInfoStoredFunctionsUsingCallSyntaxSupported: false,

		// int64 limits (0 means no limit or unknown, as in JDBC).
		flightsql.SqlInfoMaxBinaryLiteralLen:         int64(0),
		flightsql.SqlInfoMaxCharLiteralLen:           int64(0),
		flightsql.SqlInfoMaxColumnNameLen:            int64(0),
		flightsql.SqlInfoMaxColumnsInGroupBy:         int64(0),
		flightsql.SqlInfoMaxColumnsInIndex:           int64(0),
		flightsql.SqlInfoMaxColumnsInOrderBy:         int64(0),
		flightsql.SqlInfoMaxColumnsInSelect:          int64(0),
		flightsql.SqlInfoMaxColumnsInTable:           int64(0),
		flightsql.SqlInfoMaxConnections:              int64(0),
		flightsql.SqlInfoMaxCursorNameLen:            int64(0),
		flightsql.SqlInfoMaxIndexLen:                 int64(0),
		flightsql.SqlInfoDBSchemaNameLen:             int64(0),
		flightsql.SqlInfoMaxProcedureNameLen:         int64(0),
		flightsql.SqlInfoMaxCatalogNameLen:           int64(0),
		flightsql.SqlInfoMaxRowSize:                  int64(0),
		flightsql.SqlInfoMaxStatementLen:             int64(0),
		flightsql.SqlInfoMaxStatements:               int64(0),
		flightsql.SqlInfoMaxTableNameLen:             int64(0),
		flightsql.SqlInfoMaxTablesInSelect:           int64(1),
		flightsql.SqlInfoMaxUsernameLen:              int64(0),
		flightsql.SqlInfoDefaultTransactionIsolation: int64(sqlTransactionNoneOrdinal),

		// int32 bit masks and ordinals.
		flightsql.SqlInfoIdentifierCase:                                      int32(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoQuotedIdentifierCase:                                int32(flightsql.SqlCaseSensitivityCaseInsensitive),
		flightsql.SqlInfoNullOrdering:                                        int32(sqlNullsSortedHigh),
		flightsql.SqlInfoSupportedGroupBy:                                    int32(sqlGroupByUnrelated),
		flightsql.SqlInfoSupportedGrammar:                                    int32(sqlGrammarMinimum),
		flightsql.SqlInfoANSI92SupportedLevel:                                int32(sqlANSI92Entry),
		flightsql.SqlInfoOuterJoinsSupportLevel:                              int32(sqlJoinsUnsupported),
		flightsql.SqlInfoSchemasSupportedActions:                             int32(0),
		flightsql.SqlInfoCatalogsSupportedActions:                            int32(0),
		flightsql.SqlInfoSupportedPositionedCommands:                         int32(0),
		flightsql.SqlInfoSupportedSubqueries:                                 int32(0),
		flightsql.SqlInfoSupportedUnions:                                     int32(0),
		flightsql.SqlInfoSupportedTransactionsIsolationlevels:                int32(0),
		flightsql.SqlInfoSupportedResultSetTypes:                             int32(sqlResultSetForwardOnly),
		flightsql.SqlInfoSupportedConcurrenciesForResultSetUnspecified:       int32(0),
		flightsql.SqlInfoSupportedConcurrenciesForResultSetForwardOnly:       int32(sqlConcurrencyReadOnly),
		flightsql.SqlInfoSupportedConcurrenciesForResultSetScrollSensitive:   int32(0),
		flightsql.SqlInfoSupportedConcurrenciesForResultSetScrollInsensitive: int32(0),

		// String lists.
		flightsql.SqlInfoKeywords:          []string{"DETECT"},
		flightsql.SqlInfoNumericFunctions:  []string{},
		flightsql.SqlInfoStringFunctions:   []string{},
		flightsql.SqlInfoSystemFunctions:   []string{"DETECT"},
		flightsql.SqlInfoDateTimeFunctions: []string{},

		// The convert map: no CONVERT support.
		flightsql.SqlInfoSupportsConvert: map[int32][]int32{},
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
