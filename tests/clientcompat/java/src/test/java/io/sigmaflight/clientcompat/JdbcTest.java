package io.sigmaflight.clientcompat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The Flight SQL JDBC driver against a sigmaflight node started by TestJavaJDBC with a users
 * file and 30 events in table "events": host h(i%3), event_id i, ts 2024-03-01T12:00:00Z + i s.
 *
 * <p>The JVM runs in UTC: driver 18.3.0 shifts timestamp[us, UTC] values by twice the JVM's
 * UTC offset in getTimestamp and does not implement getObject for TIMESTAMP WITH TIME ZONE
 * (apache/arrow-java#732); docs/clients.md tells users to run JDBC tools in UTC.
 */
class JdbcTest {
  private static final String HOST = env("SIGMAFLIGHT_HOST");
  private static final String PORT = env("SIGMAFLIGHT_PORT");
  private static final Instant BASE = Instant.parse("2024-03-01T12:00:00Z");

  private static String env(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalStateException(name + " is not set: run this through TestJavaJDBC");
    }
    return v;
  }

  private static Connection connect(String params) throws SQLException {
    return DriverManager.getConnection(
        "jdbc:arrow-flight-sql://" + HOST + ":" + PORT + "?useEncryption=false&" + params);
  }

  private static Connection reader() throws SQLException {
    return connect("user=rita&password=rita-secret");
  }

  @Test
  void userAndPasswordQuery() throws SQLException {
    try (Connection c = reader();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM events")) {
      assertTrue(rs.next());
      assertEquals(30L, rs.getLong(1));
      assertFalse(rs.next());
    }
  }

  @Test
  void tokenConnection() throws SQLException {
    try (Connection c = connect("token=" + env("SIGMAFLIGHT_TOKEN"));
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM events WHERE ok = true")) {
      assertTrue(rs.next());
      assertEquals(15L, rs.getLong(1));
    }
  }

  @Test
  void tokenAsPassword() throws SQLException {
    try (Connection c = connect("user=tableau&password=" + env("SIGMAFLIGHT_TOKEN"));
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM events")) {
      assertTrue(rs.next());
      assertEquals(30L, rs.getLong(1));
    }
  }

  @Test
  void wrongPasswordIsRefused() {
    SQLException e = assertThrows(SQLException.class, () -> connect("user=rita&password=wrong").close());
    assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("invalid username or password")
            || String.valueOf(e.getCause()).toLowerCase().contains("invalid username or password"),
        "message: " + e);
  }

  @Test
  void preparedStatementWithParametersAndTimestamps() throws SQLException {
    try (Connection c = reader();
        PreparedStatement ps =
            c.prepareStatement("SELECT event_id, ts, host FROM events WHERE host = ? AND event_id < ?")) {
      assertEquals(2, ps.getParameterMetaData().getParameterCount());
      Map<Long, Instant> got = new TreeMap<>();
      ps.setString(1, "h1");
      ps.setLong(2, 10);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          assertEquals("h1", rs.getString(3));
          got.put(rs.getLong(1), rs.getTimestamp(2).toInstant());
        }
      }
      assertEquals(List.of(1L, 4L, 7L), new ArrayList<>(got.keySet()));
      for (Map.Entry<Long, Instant> e : got.entrySet()) {
        assertEquals(BASE.plusSeconds(e.getKey()), e.getValue(), "ts of event " + e.getKey());
      }
      // The same statement again with other parameters.
      ps.setString(1, "h0");
      ps.setLong(2, 4);
      List<Long> ids = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          ids.add(rs.getLong(1));
        }
      }
      ids.sort(null);
      assertEquals(List.of(0L, 3L), ids);
    }
  }

  @Test
  void resultSetMetadata() throws SQLException {
    try (Connection c = reader();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT ts, host, event_id, score, ok FROM events WHERE event_id = 0")) {
      var md = rs.getMetaData();
      assertEquals(5, md.getColumnCount());
      assertEquals(Types.TIMESTAMP_WITH_TIMEZONE, md.getColumnType(1));
      assertEquals(Types.VARCHAR, md.getColumnType(2));
      assertEquals(Types.BIGINT, md.getColumnType(3));
      assertEquals(Types.DOUBLE, md.getColumnType(4));
      assertEquals(Types.BOOLEAN, md.getColumnType(5));
      assertTrue(rs.next());
      assertEquals(BASE, rs.getTimestamp(1).toInstant());
    }
  }

  @Test
  void databaseMetaData() throws SQLException {
    try (Connection c = reader()) {
      DatabaseMetaData md = c.getMetaData();
      assertEquals("sigmaflight", md.getDatabaseProductName());
      assertNotNull(md.getIdentifierQuoteString());
      md.getSQLKeywords();
      md.supportsTransactions();
      md.getMaxStatementLength();

      List<String> catalogs = new ArrayList<>();
      try (ResultSet rs = md.getCatalogs()) {
        while (rs.next()) {
          catalogs.add(rs.getString("TABLE_CAT"));
        }
      }
      assertEquals(List.of("sigmaflight"), catalogs);

      List<String> schemas = new ArrayList<>();
      try (ResultSet rs = md.getSchemas()) {
        while (rs.next()) {
          schemas.add(rs.getString("TABLE_SCHEM"));
        }
      }
      assertTrue(schemas.contains("public") && schemas.contains("sys"), "schemas: " + schemas);

      List<String> tables = new ArrayList<>();
      try (ResultSet rs = md.getTables(null, null, "%", null)) {
        while (rs.next()) {
          tables.add(rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME") + ":" + rs.getString("TABLE_TYPE"));
        }
      }
      assertTrue(tables.contains("public.events:TABLE"), "tables: " + tables);

      Map<String, String> columns = new TreeMap<>();
      try (ResultSet rs = md.getColumns(null, "public", "events", "%")) {
        while (rs.next()) {
          columns.put(rs.getString("COLUMN_NAME"), rs.getString("TYPE_NAME") + "/" + rs.getInt("DATA_TYPE"));
        }
      }
      assertEquals(
          Map.of(
              "ts", "TIMESTAMP/" + Types.TIMESTAMP_WITH_TIMEZONE,
              "host", "VARCHAR/" + Types.VARCHAR,
              "event_id", "BIGINT/" + Types.BIGINT,
              "score", "DOUBLE/" + Types.DOUBLE,
              "ok", "BOOLEAN/" + Types.BOOLEAN),
          columns);

      try (ResultSet rs = md.getPrimaryKeys(null, "public", "events")) {
        assertFalse(rs.next());
      }
      try (ResultSet rs = md.getImportedKeys(null, "public", "events")) {
        assertFalse(rs.next());
      }
      try (ResultSet rs = md.getExportedKeys(null, "public", "events")) {
        assertFalse(rs.next());
      }
      try (ResultSet rs = md.getTableTypes()) {
        List<String> types = new ArrayList<>();
        while (rs.next()) {
          types.add(rs.getString(1));
        }
        assertTrue(types.contains("TABLE"), "table types: " + types);
      }
    }
  }

  @Test
  void updateStatementIsRefused() throws SQLException {
    try (Connection c = reader(); Statement s = c.createStatement()) {
      SQLException e = assertThrows(SQLException.class, () -> s.executeUpdate("INSERT INTO events VALUES (1)"));
      assertNotNull(e.getMessage());
    }
  }
}
