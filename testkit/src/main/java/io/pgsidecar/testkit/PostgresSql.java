package io.pgsidecar.testkit;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** SQL against a {@link PostgresCluster}'s server over JDBC, as the postgres role. */
final class PostgresSql {
  private final PostgresProcess server;

  PostgresSql(PostgresProcess server) {
    this.server = server;
  }

  String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + server.port() + "/" + database + "?user=postgres";
  }

  Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl("postgres"));
  }

  /** See {@link PostgresCluster#sql}. */
  String sql(String sql) {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      boolean isResultSet = st.execute(sql);
      while (true) {
        if (isResultSet) {
          try (ResultSet rs = st.getResultSet()) {
            return rs.next() ? rs.getString(1) : null;
          }
        }
        if (st.getUpdateCount() == -1) {
          return null;
        }
        isResultSet = st.getMoreResults();
      }
    } catch (SQLException e) {
      throw new IllegalStateException("SQL failed on " + jdbcUrl("postgres") + ": " + sql + ": "
          + e.getMessage(), e);
    }
  }

  long sqlLong(String sql) {
    String v = sql(sql);
    if (v == null) {
      throw new IllegalStateException("no value returned by: " + sql);
    }
    return Long.parseLong(v);
  }
}
