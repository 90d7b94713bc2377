package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// printedSetting is one "key = value  # source" line of config print.
type printedSetting struct{ value, source string }

var printedLine = regexp.MustCompile(`^([a-z0-9-]+) = (.*?) +# (.*)$`)

// configPrint runs tokenadmin config print and returns its settings by
// key; it fails the test unless the command succeeds.
func configPrint(t *testing.T, args ...string) (map[string]printedSetting, string) {
	t.Helper()
	out := mustRun(t, "", append([]string{"config", "print"}, args...)...)
	got := map[string]printedSetting{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		m := printedLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("config print line %q is not key = value  # source:\n%s", line, out)
		}
		if _, dup := got[m[1]]; dup {
			t.Fatalf("config print prints %s twice:\n%s", m[1], out)
		}
		got[m[1]] = printedSetting{value: m[2], source: m[3]}
	}
	return got, out
}

// writeConfig writes a config file into a new temporary directory.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokenadmin.conf")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clearConfigEnv unsets (sets empty, which counts as unset) the variables
// these tests use, so that the developer's environment does not leak in.
func clearConfigEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{"TOKENADMIN_CONFIG", "TOKENADMIN_DB", "TOKENADMIN_ADMIN_PASSWORD"} {
		t.Setenv(name, "")
	}
}

// TestConfigPrecedence checks flag > environment > config file > default
// for a setting of each type, in every combination of the three layers.
func TestConfigPrecedence(t *testing.T) {
	settings := []struct {
		key                           string
		def, flagVal, envVal, fileVal string
	}{
		{key: "addr", def: "127.0.0.1:8080", flagVal: "127.0.0.1:1001", envVal: "127.0.0.1:1002", fileVal: "127.0.0.1:1003"},
		{key: "read-timeout", def: "30s", flagVal: "41s", envVal: "42s", fileVal: "43s"},
		{key: "insecure-http", def: "false", flagVal: "true", envVal: "true", fileVal: "true"},
		{key: "max-body-bytes", def: "1048576", flagVal: "2001", envVal: "2002", fileVal: "2003"},
	}
	for _, s := range settings {
		for layers := range 8 {
			useFlag, useEnv, useFile := layers&4 != 0, layers&2 != 0, layers&1 != 0
			name := fmt.Sprintf("%s flag=%v env=%v file=%v", s.key, useFlag, useEnv, useFile)
			wantValue, wantSource := s.def, "default"
			switch {
			case useFlag:
				wantValue, wantSource = s.flagVal, "from flag --"+s.key
			case useEnv:
				wantValue, wantSource = s.envVal, "from env "+envName(s.key)
			case useFile:
				wantValue, wantSource = s.fileVal, "from config file "
			}
			t.Run(name+" wins "+strings.TrimPrefix(wantSource, "from "), func(t *testing.T) {
				clearConfigEnv(t)
				var args []string
				if useFlag {
					args = append(args, "--"+s.key+"="+s.flagVal)
				}
				if useEnv {
					t.Setenv(envName(s.key), s.envVal)
				}
				if useFile {
					// The setting on line 3, under a comment and a blank line.
					args = append(args, "--config", writeConfig(t, "# test\n\n"+s.key+" = "+s.fileVal+"\n"))
				}
				got, out := configPrint(t, args...)
				if got[s.key].value != wantValue || !strings.HasPrefix(got[s.key].source, wantSource) {
					t.Errorf("%s = %s  # %s, want %s from %s\n%s", s.key, got[s.key].value, got[s.key].source, wantValue, wantSource, out)
				}
				if useFile && !useFlag && !useEnv && !strings.HasSuffix(got[s.key].source, "tokenadmin.conf line 3") {
					t.Errorf("source %q, want the file and line 3", got[s.key].source)
				}
			})
		}
	}
}

// TestServeUsesConfig runs serve through Main with its database and
// address from the layers, not from flags: the file names the database,
// the environment the address.
func TestServeUsesConfig(t *testing.T) {
	clearConfigEnv(t)
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", adminPassword)
	db := filepath.Join(t.TempDir(), "from-file.db")
	t.Setenv("TOKENADMIN_CONFIG", writeConfig(t, "db = "+db+"\naddr = 192.0.2.1:9 # overridden by the environment\n"))
	t.Setenv("TOKENADMIN_ADDR", "127.0.0.1:0")

	listened := make(chan string, 1)
	netListen := listen
	t.Cleanup(func() { listen = netListen })
	listen = func(network, addr string) (net.Listener, error) {
		ln, err := netListen(network, addr)
		if err == nil {
			listened <- ln.Addr().String()
		}
		return ln, err
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() { exited <- Main(ctx, []string{"serve"}, strings.NewReader(""), &stdout, &stderr) }()
	select {
	case addr := <-listened:
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("listening on %s, want 127.0.0.1 from TOKENADMIN_ADDR", addr)
		}
	case code := <-exited:
		t.Fatalf("serve exited with %d:\n%s", code, stderr.String())
	case <-time.After(10 * time.Second):
		cancel()
		<-exited
		t.Fatalf("serve did not listen within 10 s:\n%s", stderr.String())
	}
	cancel()
	if code := <-exited; code != 0 {
		t.Errorf("serve exited with %d:\n%s", code, stderr.String())
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the database the config file names: %v", err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	clearConfigEnv(t)
	tests := []struct {
		name    string
		content string
		want    string // after "config file PATH "
	}{
		{name: "unknown key", content: "# c\naddr = 127.0.0.1:1\nadr = 127.0.0.1:2\n", want: `line 3: unknown key "adr"`},
		{name: "no equals sign", content: "addr 127.0.0.1:1\n", want: "line 1: want key = value"},
		{name: "no key", content: " = 1\n", want: `line 1: no key before "="`},
		{name: "bad duration", content: "\nread-timeout = soon\n", want: `line 2: invalid value "soon" for read-timeout: want a duration such as 30s or 2m`},
		{name: "bad bool", content: "demo = yes please\n", want: `line 1: invalid value "yes please" for demo: want true or false`},
		{name: "bad number", content: "max-body-bytes = 1MB\n", want: `line 1: invalid value "1MB" for max-body-bytes: want a whole number`},
		{name: "duplicate key", content: "addr = a:1\n#\naddr = b:2\n", want: "line 3: addr is already set on line 1"},
		{name: "nested config", content: "config = other.conf\n", want: "line 1: a config file cannot name another config file"},
		{name: "unterminated quote", content: "tls-cert = \"/a/b\n", want: "line 1: malformed quoted value"},
		{name: "text after quote", content: "tls-cert = \"/a/b\" c\n", want: "line 1: unexpected text after the quoted value"},
		{name: "dashes before the key", content: "--addr = 127.0.0.1:1\n", want: `line 1: unknown key "--addr"`},
		{name: "not positive", content: "write-timeout = 0s\n", want: "--write-timeout must be positive, not 0s (from config file"},
		{name: "unknown legacy profile", content: "legacy-profile = is-9\n", want: "--legacy-profile: "},
		{name: "retention not positive", content: "purge-expired-after = 0s\n", want: "--purge-expired-after must be positive, not 0s (from config file"},
		{name: "negative janitor interval", content: "janitor-interval = -1m\n", want: "--janitor-interval must not be negative, not -1m0s (from config file"},
		{name: "unknown log level", content: "log-level = loud\n", want: "--log-level: unknown level \"loud\""},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is a usage error", func(t *testing.T) {
			path := writeConfig(t, tt.content)
			for _, cmd := range [][]string{{"config", "print"}, {"serve", "--db", filepath.Join(t.TempDir(), "never.db")}} {
				r := runMain(t, "", append(cmd, "--config", path)...)
				first, _, _ := strings.Cut(r.stderr, "\n")
				if r.code != 2 || !strings.Contains(first, tt.want) || (strings.HasPrefix(tt.want, "line") && !strings.Contains(first, "config file "+path+" "+tt.want)) {
					t.Errorf("%s: exit %d, stderr %q; want 2 and %q", cmd[0], r.code, first, tt.want)
				}
			}
		})
	}

	t.Run("a missing file is a failure naming it", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "missing.conf")
		r := runMain(t, "", "config", "print", "--config", path)
		if r.code != 1 || !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "no such file") {
			t.Errorf("exit %d, stderr %q; want 1 naming %s", r.code, r.stderr, path)
		}
	})
	t.Run("nothing is created after an error", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "never.db")
		r := runMain(t, "", "serve", "--db", db, "--config", writeConfig(t, "adr = x\n"))
		if _, err := os.Stat(db); r.code != 2 || err == nil {
			t.Errorf("exit %d, database created: %v; want 2 and none", r.code, err == nil)
		}
	})
}

func TestConfigEnvErrors(t *testing.T) {
	clearConfigEnv(t)
	t.Run("an unknown TOKENADMIN variable is a usage error", func(t *testing.T) {
		t.Setenv("TOKENADMIN_ADR", "127.0.0.1:1")
		for _, cmd := range [][]string{{"config", "print"}, {"serve", "--db", filepath.Join(t.TempDir(), "never.db")}} {
			r := runMain(t, "", cmd...)
			if r.code != 2 || !strings.Contains(r.stderr, "environment variable TOKENADMIN_ADR: no such setting") {
				t.Errorf("%s: exit %d, stderr %q; want 2 naming TOKENADMIN_ADR", cmd[0], r.code, r.stderr)
			}
		}
	})
	t.Run("a bad value names its variable", func(t *testing.T) {
		t.Setenv("TOKENADMIN_IDLE_TIMEOUT", "forever")
		r := runMain(t, "", "config", "print")
		if want := `environment variable TOKENADMIN_IDLE_TIMEOUT: invalid value "forever" for idle-timeout`; r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, want)
		}
	})
	t.Run("a variable of a flag that is set is still checked", func(t *testing.T) {
		t.Setenv("TOKENADMIN_IDLE_TIMEOUT", "forever")
		_, out := configPrint(t, "--idle-timeout", "1m")
		if !strings.Contains(out, "idle-timeout = 1m0s") {
			t.Errorf("the flag should win over a variable it overrides:\n%s", out)
		}
	})
	t.Run("the variables that are not flags are known", func(t *testing.T) {
		t.Setenv("TOKENADMIN_ADMIN_PASSWORD", "x")
		t.Setenv("TOKENADMIN_BENCH_TOKENS", "100")
		configPrint(t)
	})
	t.Run("an empty variable counts as unset", func(t *testing.T) {
		t.Setenv("TOKENADMIN_ADDR", "")
		got, _ := configPrint(t)
		if got["addr"] != (printedSetting{value: "127.0.0.1:8080", source: "default"}) {
			t.Errorf("addr = %+v, want the default", got["addr"])
		}
	})
	t.Run("TOKENADMIN_CONFIG names the file; --config wins over it", func(t *testing.T) {
		t.Setenv("TOKENADMIN_CONFIG", writeConfig(t, "addr = 127.0.0.1:1\n"))
		got, out := configPrint(t)
		if got["addr"].value != "127.0.0.1:1" || !strings.Contains(out, "(from env TOKENADMIN_CONFIG)") {
			t.Errorf("TOKENADMIN_CONFIG not used:\n%s", out)
		}
		got, out = configPrint(t, "--config", writeConfig(t, "addr = 127.0.0.1:2\n"))
		if got["addr"].value != "127.0.0.1:2" || !strings.Contains(out, "(from flag --config)") {
			t.Errorf("--config does not win:\n%s", out)
		}
	})
}

func TestConfigFileSyntax(t *testing.T) {
	clearConfigEnv(t)
	content := "\ufeff# comment\r\n" +
		"   # indented comment\n" +
		"addr=127.0.0.1:7   # trailing comment\n" +
		"tls-cert = /etc/a#b.pem\n" + // no whitespace before '#': part of the value
		"tls-key = \" /k #1.pem\"  # quoted: keeps spaces and '#'\n" +
		"legacy-profile\t=\tis-5.7\r\n" +
		"demo = true\n"
	got, out := configPrint(t, "--config", writeConfig(t, content))
	want := map[string]string{
		"addr":           "127.0.0.1:7",
		"tls-cert":       `"/etc/a#b.pem"`,
		"tls-key":        `" /k #1.pem"`,
		"legacy-profile": "is-5.7",
		"demo":           "true",
	}
	for key, value := range want {
		if got[key].value != value {
			t.Errorf("%s = %s, want %s\n%s", key, got[key].value, value, out)
		}
	}

	t.Run("config print reads back as a config file", func(t *testing.T) {
		again, out2 := configPrint(t, "--config", writeConfig(t, out))
		for key, s := range got {
			if again[key].value != s.value {
				t.Errorf("%s = %s read back from config print, want %s\n%s", key, again[key].value, s.value, out2)
			}
		}
	})
}

func TestConfigPrint(t *testing.T) {
	clearConfigEnv(t)
	const password = "very-secret-admin-password"
	t.Setenv("TOKENADMIN_ADMIN_PASSWORD", password)
	t.Setenv("TOKENADMIN_ADDR", "127.0.0.1:8443")
	path := writeConfig(t, "tls-cert = /etc/tokenadmin/cert.pem\ntls-key = /etc/tokenadmin/key.pem\n")
	got, out := configPrint(t, "--config", path, "--read-timeout", "45s")

	if strings.Contains(out, password) {
		t.Errorf("config print shows the admin password:\n%s", out)
	}
	for _, want := range []string{
		"# Precedence: flag > environment TOKENADMIN_<FLAG_NAME> > config file > default.\n",
		"# config file: " + path + " (from flag --config)\n",
		"# TOKENADMIN_ADMIN_PASSWORD = ********  (environment only",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config print lacks %q:\n%s", want, out)
		}
	}
	wantSettings := map[string]printedSetting{
		"addr":          {value: "127.0.0.1:8443", source: "from env TOKENADMIN_ADDR"},
		"read-timeout":  {value: "45s", source: "from flag --read-timeout"},
		"tls-cert":      {value: "/etc/tokenadmin/cert.pem", source: "from config file " + path + " line 1"},
		"tls-key":       {value: "/etc/tokenadmin/key.pem", source: "from config file " + path + " line 2"},
		"write-timeout": {value: "30s", source: "default"},
		"insecure-http": {value: "false", source: "default"},
	}
	for key, want := range wantSettings {
		if got[key] != want {
			t.Errorf("%s = %+v, want %+v\n%s", key, got[key], want, out)
		}
	}
	// Every serve flag but --config, each once (configPrint checks once).
	for _, c := range commands {
		if c.name != "serve" {
			continue
		}
		var names []string
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		c.flags(fs)
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		for _, name := range names {
			if _, ok := got[name]; !ok && name != "config" {
				t.Errorf("config print lacks %s:\n%s", name, out)
			}
		}
		if _, ok := got["config"]; ok {
			t.Errorf("config print sets config, which a config file cannot:\n%s", out)
		}
	}

	t.Run("without the admin password", func(t *testing.T) {
		t.Setenv("TOKENADMIN_ADMIN_PASSWORD", "")
		_, out := configPrint(t)
		if !strings.Contains(out, "# TOKENADMIN_ADMIN_PASSWORD is not set") || !strings.Contains(out, "# config file: none\n") {
			t.Errorf("config print:\n%s", out)
		}
	})
	t.Run("secret-like settings are masked", func(t *testing.T) {
		for name, want := range map[string]bool{"admin-password": true, "client-secret": true, "tls-key": false, "addr": false} {
			if isSecret(name) != want {
				t.Errorf("isSecret(%q) = %v, want %v", name, !want, want)
			}
		}
	})
}
