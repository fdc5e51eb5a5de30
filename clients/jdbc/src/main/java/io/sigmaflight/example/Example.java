package io.sigmaflight.example;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Example connects to a sigmaflight node with the Arrow Flight SQL JDBC driver, runs the
 * built-in Sigma ruleset with detect() and prints one line per detection.
 *
 * <p>Usage: {@code Example [jdbc-url [sql]]}; the default URL is the local node without TLS.
 */
public final class Example {
    private static final String DEFAULT_URL = "jdbc:arrow-flight-sql://127.0.0.1:8815?useEncryption=false";
    private static final String DEFAULT_SQL =
            "SELECT rule_level, rule_title, Hostname, Image FROM detect('examples') WHERE rule_level IN ('high', 'critical')";

    private Example() {}

    public static void main(String[] args) throws SQLException {
        String url = args.length > 0 && !args[0].isEmpty() && !args[0].startsWith("${") ? args[0] : DEFAULT_URL;
        String sql = args.length > 1 ? args[1] : DEFAULT_SQL;
        try (Connection conn = DriverManager.getConnection(url);
                Statement stmt = conn.createStatement();
                ResultSet rs = stmt.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            int rows = 0;
            while (rs.next()) {
                StringBuilder line = new StringBuilder();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    if (i > 1) {
                        line.append(" | ");
                    }
                    line.append(md.getColumnName(i)).append('=').append(rs.getString(i));
                }
                System.out.println(line);
                rows++;
            }
            System.out.println("(" + rows + " rows)");
        }
    }
}
