// A small pgjdbc client for tests/wire/test_wire_pgjdbc.py, run as a single source file:
//   java -cp postgresql.jar PgjdbcClient.java PORT USER QUERY
// It prints, one line each, tab-separated, with \N for NULL:
//   META  <column name> <column type name> <java.sql.Types code>   (ResultSetMetaData)
//   ROW   <value> ...                                                (getString of each column)
//   TABLE <schema> <table>                                           (DatabaseMetaData.getTables)
//   COLUMN <schema> <table> <column> <type name>                     (DatabaseMetaData.getColumns)
//   ERROR <SQLSTATE> <message>                                       (a refused statement)
import java.sql.*;
import java.util.Properties;

public class PgjdbcClient {
    static String cell(String s) {
        return s == null ? "\\N" : s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n");
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/mesh?prepareThreshold=1&connectTimeout=10";  // binaryTransfer: the default (true)
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        try (Connection conn = DriverManager.getConnection(url, props)) {
            conn.setAutoCommit(false);
            for (int run = 0; run < 2; run++) {  // the second run uses the named server-side statement
                try (PreparedStatement st = conn.prepareStatement(args[2]); ResultSet rs = st.executeQuery()) {
                    ResultSetMetaData md = rs.getMetaData();
                    if (run == 0) {
                        for (int i = 1; i <= md.getColumnCount(); i++) {
                            System.out.println("META\t" + md.getColumnName(i) + "\t" + md.getColumnTypeName(i)
                                               + "\t" + md.getColumnType(i));
                        }
                    }
                    while (rs.next()) {
                        StringBuilder line = new StringBuilder(run == 0 ? "ROW" : "ROW2");
                        for (int i = 1; i <= md.getColumnCount(); i++) line.append('\t').append(cell(rs.getString(i)));
                        System.out.println(line);
                    }
                }
            }
            conn.commit();
            DatabaseMetaData meta = conn.getMetaData();
            try (ResultSet rs = meta.getTables(null, null, "%", new String[] {"TABLE"})) {
                while (rs.next()) System.out.println("TABLE\t" + rs.getString("TABLE_SCHEM") + "\t" + rs.getString("TABLE_NAME"));
            }
            try (ResultSet rs = meta.getColumns(null, "sales", "orders", "%")) {
                while (rs.next()) {
                    System.out.println("COLUMN\t" + rs.getString("TABLE_SCHEM") + "\t" + rs.getString("TABLE_NAME") + "\t"
                                       + rs.getString("COLUMN_NAME") + "\t" + rs.getString("TYPE_NAME"));
                }
            }
            conn.commit();
            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELECT margin FROM sales.orders");
            } catch (SQLException e) {
                System.out.println("ERROR\t" + e.getSQLState() + "\t" + cell(e.getMessage()));
                conn.rollback();
            }
        }
    }
}
