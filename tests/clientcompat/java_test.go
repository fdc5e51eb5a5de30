package clientcompat

import (
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestJavaJDBC runs java/src/test/java/.../JdbcTest.java (JUnit 5 and the Flight SQL JDBC
// driver 18.3.0) against a node with authentication: user/password and token= connections,
// DatabaseMetaData, PreparedStatement with parameters, timestamps (JVM in UTC, see JdbcTest.java). It
// compiles with Maven offline (.ci/run resolved the pom with dependency:go-offline
// test-compile; without that, Maven goes online once) and runs the JUnit console launcher
// with java on the classpath Maven wrote. A missing JDK, Maven or dependency fails the test.
func TestJavaJDBC(t *testing.T) {
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		t.Fatal("mvn not found: the JDBC tests need Maven and a JDK 17+")
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatal("java not found: the JDBC tests need a JDK 17+")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	compile := func(args ...string) error {
		cmd := exec.CommandContext(ctx, mvn, append([]string{"--batch-mode", "--quiet", "-f", "java/pom.xml"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("mvn %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return err
	}
	if compile("--offline", "test-compile") != nil {
		if err := compile("dependency:go-offline", "test-compile"); err != nil {
			t.Fatalf("cannot compile the JDBC tests: %v", err)
		}
	}
	cp, err := os.ReadFile("java/target/classpath.txt")
	if err != nil {
		t.Fatalf("the classpath Maven writes at test-compile is missing: %v", err)
	}

	n := startNode(t, true)
	c := n.client()
	ingestEvents(n.login(ctx, c, "wanda", "wanda-secret"), t, c, "events", 30)
	host, port, err := net.SplitHostPort(n.addr)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, java, "--add-opens=java.base/java.nio=ALL-UNNAMED", "-Duser.timezone=UTC",
		"-cp", "java/target/test-classes"+string(os.PathListSeparator)+strings.TrimSpace(string(cp)),
		"org.junit.platform.console.ConsoleLauncher", "execute", "--disable-banner", "--details=tree",
		"--fail-if-no-tests", "--select-class", "io.sigmaflight.clientcompat.JdbcTest")
	cmd.Env = append(os.Environ(), "SIGMAFLIGHT_HOST="+host, "SIGMAFLIGHT_PORT="+port,
		"SIGMAFLIGHT_TOKEN="+n.mintToken("dbeaver", "reader", "1h"))
	out, err := cmd.CombinedOutput()
	t.Logf("JUnit:\n%s", out)
	if err != nil {
		t.Fatalf("JDBC tests failed: %v", err)
	}
	count := func(what string) string {
		m := regexp.MustCompile(`\[\s*(\d+) tests ` + what + `\s*\]`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("no %q count in the launcher's summary", what)
		}
		return string(m[1])
	}
	if s, f, sk := count("successful"), count("failed"), count("skipped"); s != "8" || f != "0" || sk != "0" {
		t.Fatalf("JDBC tests: %s successful, %s failed, %s skipped; want all 8 of JdbcTest.java successful", s, f, sk)
	}
}
