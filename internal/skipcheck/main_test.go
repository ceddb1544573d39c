package main

import (
	"strings"
	"testing"
)

func events(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func TestSkipcheck(t *testing.T) {
	corpusSkip := events(
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:3: mail corpus not found at ../shared/corpus\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"--- SKIP: TestA (0.00s)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestA"}`,
	)
	slowSkip := events(
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:3: sends 10,000 messages\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestB"}`,
	)
	tnefSkip := events(
		`{"Action":"output","Package":"p","Test":"TestT","Output":"    t_test.go:3: Debian's tnef command is not installed\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestT"}`,
	)
	pgSkip := events(
		`{"Action":"output","Package":"p","Test":"TestPG","Output":"    pgtest.go:77: PostgreSQL is not installed (apt-get install postgresql: initdb under /usr/lib/postgresql/*/bin); skipping the PostgreSQL test\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestPG"}`,
	)
	pkgPass := events(`{"Action":"pass","Package":"p","Elapsed":0.1}`)
	failing := events(
		`{"Action":"output","Package":"q","Test":"TestC","Output":"    c_test.go:9: wrong answer\n"}`,
		`{"Action":"fail","Package":"q","Test":"TestC"}`,
		`{"Action":"output","Package":"q","Output":"FAIL\tq\t0.2s\n"}`,
		`{"Action":"fail","Package":"q","Elapsed":0.2}`,
	)
	cases := []struct {
		name, in string
		code     int
		want     []string
	}{
		{"optional skip passes, listed", slowSkip + pkgPass, 0, []string{"ok  \tp", "== 1 skipped test(s)", "   p TestB: b_test.go:3: sends 10,000 messages"}},
		{"corpus skip fails", corpusSkip + slowSkip + pkgPass, 1, []string{"!! p TestA: a_test.go:3: mail corpus not found", "FAIL: 1 test(s) that CI must run skipped"}},
		{"tnef skip fails", tnefSkip + pkgPass, 1, []string{"!! p TestT: t_test.go:3: Debian's tnef command is not installed"}},
		{"PostgreSQL skip fails", pgSkip + pkgPass, 1, []string{"!! p TestPG: pgtest.go:77: PostgreSQL is not installed", "FAIL: 1 test(s) that CI must run skipped"}},
		{"failed test fails, its output shown", failing, 1, []string{"c_test.go:9: wrong answer", "FAIL\tq"}},
		{"garbage is an error", "not json\n", 1, []string{"reading go test -json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			if code := run(strings.NewReader(c.in), &out); code != c.code {
				t.Errorf("exit %d, want %d\n%s", code, c.code, out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
