package main

// serve's configuration comes in four layers. For each setting the first
// layer that has it wins:
//
//  1. the command-line flag (--read-timeout 45s);
//  2. the environment variable TOKENADMIN_<FLAG_NAME> in upper snake case
//     (TOKENADMIN_READ_TIMEOUT=45s); an empty variable counts as unset;
//  3. the config file given by --config FILE or TOKENADMIN_CONFIG;
//  4. the flag's default.
//
// The config file is UTF-8 text, one "key = value" per line, keys being
// the flag names without dashes in front:
//
//	# tokenadmin serve
//	addr = 0.0.0.0:8443   # a '#' after whitespace starts a comment
//	tls-cert = /etc/tokenadmin/cert.pem
//	read-timeout = 45s
//	legacy-profile = "is-5.7"   # quotes (Go syntax) keep spaces and '#'
//
// The layers apply generically to every flag of serve, so a flag added to
// serve is configurable everywhere at once. Unknown keys, unknown
// TOKENADMIN_* variables and bad values are usage errors that name their
// source (file and line, or variable).

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"tokenadmin/legacy"
)

const envPrefix = "TOKENADMIN_"

// nonFlagEnv are the TOKENADMIN_* variables that are not serve flags;
// TOKENADMIN_BENCH_* (the bench command's and the benchmarks') are not
// either.
var nonFlagEnv = map[string]bool{
	"TOKENADMIN_ADMIN_PASSWORD": true, // the first admin's password; a secret, environment only
}

const benchEnvPrefix = "TOKENADMIN_BENCH_"

// masked replaces secret values in config print and error messages.
const masked = "********"

func init() {
	register(&command{
		name:    "config print",
		summary: "print the configuration serve would run with, and where each value comes from (secrets masked)",
		usage:   "[--config FILE] [serve flags...]",
		flags: func(fs *flag.FlagSet) func(*env, []string) error {
			// The very flags of serve, so that both always agree.
			for _, c := range commands {
				if c.name == "serve" {
					c.flags(fs)
				}
			}
			return func(e *env, args []string) error {
				if len(args) != 0 {
					return usagef("unexpected argument %q", args[0])
				}
				set, err := layerConfig(fs)
				if err != nil {
					return err
				}
				return printConfig(e.stdout, fs, set)
			}
		},
	})
}

// configFlag adds --config to serve's flags.
func configFlag(fs *flag.FlagSet) {
	fs.String("config", "", "read settings from `file` (key = value lines, keys named like these flags); TOKENADMIN_<FLAG_NAME> variables override it, and flags override both")
}

// envName is the environment variable of a flag: addr → TOKENADMIN_ADDR.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// isSecret reports whether a setting's value must never be shown. Paths
// such as tls-key are not secret; the values of password-like settings
// are.
func isSecret(name string) bool {
	name = strings.ToLower(name)
	for _, w := range []string{"password", "secret", "passphrase", "credential"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// settings records where each flag's effective value came from.
type settings struct {
	file    string            // the config file read, "" for none
	sources map[string]string // flag name → "default", "flag --addr", "env TOKENADMIN_ADDR", "config file F line N"
}

// from is " (from SOURCE)" for a value that did not come from its flag,
// for error messages about values the user did not type just now.
func (s *settings) from(name string) string {
	src := s.sources[name]
	if src == "" || strings.HasPrefix(src, "flag ") {
		return ""
	}
	return " (from " + src + ")"
}

// layerConfig completes fs, already parsed from the command line, with
// the environment and the config file (see the top of this file). Usage
// mistakes (unknown keys or variables, bad values, values checkServeFlags
// refuses) are *usageError; an unreadable config file is a plain error.
func layerConfig(fs *flag.FlagSet) (*settings, error) {
	s := &settings{sources: map[string]string{}}
	fs.VisitAll(func(f *flag.Flag) { s.sources[f.Name] = "default" })
	fs.Visit(func(f *flag.Flag) { s.sources[f.Name] = "flag --" + f.Name })
	explicit := func(name string) bool { return strings.HasPrefix(s.sources[name], "flag ") }

	env := map[string]string{}
	var unknown []string
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) || nonFlagEnv[name] || strings.HasPrefix(name, benchEnvPrefix) {
			continue
		}
		flagName := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, envPrefix), "_", "-"))
		if fs.Lookup(flagName) == nil || envName(flagName) != name {
			unknown = append(unknown, name)
			continue
		}
		if value != "" {
			env[flagName] = value
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, usagef("environment variable %s: no such setting (serve's settings are its flags as TOKENADMIN_<FLAG_NAME>, such as TOKENADMIN_READ_TIMEOUT)", strings.Join(unknown, ", "))
	}

	if v, ok := env["config"]; ok && !explicit("config") {
		if err := fs.Set("config", v); err != nil {
			return nil, usagef("environment variable TOKENADMIN_CONFIG: %v", err)
		}
		s.sources["config"] = "env TOKENADMIN_CONFIG"
	}
	var file map[string]fileEntry
	if s.file = fs.Lookup("config").Value.String(); s.file != "" {
		data, err := os.ReadFile(s.file)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		if file, err = parseConfigFile(s.file, data, fs); err != nil {
			return nil, err
		}
	}

	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || f.Name == "config" || explicit(f.Name) {
			return
		}
		if v, ok := env[f.Name]; ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = badValue("environment variable "+envName(f.Name), f, v, e)
			}
			s.sources[f.Name] = "env " + envName(f.Name)
		} else if fe, ok := file[f.Name]; ok {
			src := fmt.Sprintf("config file %s line %d", s.file, fe.line)
			if e := fs.Set(f.Name, fe.value); e != nil {
				err = badValue(src, f, fe.value, e)
			}
			s.sources[f.Name] = src
		}
	})
	if err != nil {
		return nil, err
	}
	return s, checkServeFlags(fs, s)
}

// badValue is the usage error for a value of f from src that f refuses.
func badValue(src string, f *flag.Flag, value string, err error) error {
	if isSecret(f.Name) {
		value = masked
	}
	want := err.Error()
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case bool:
			want = "want true or false"
		case time.Duration:
			want = "want a duration such as 30s or 2m"
		case int, int64, uint, uint64:
			want = "want a whole number"
		}
	}
	return usagef("%s: invalid value %q for %s: %s", src, value, f.Name, want)
}

// checkServeFlags checks what the flag types alone cannot: that limits
// are positive and the legacy profile exists. TLS files are checked when
// the server starts.
func checkServeFlags(fs *flag.FlagSet, set *settings) error {
	for _, name := range []string{"access-ttl", "refresh-ttl", "read-header-timeout", "read-timeout", "write-timeout", "idle-timeout", "purge-revoked-after", "purge-expired-after"} {
		if d := fs.Lookup(name).Value.(flag.Getter).Get().(time.Duration); d <= 0 {
			return usagef("--%s must be positive, not %v%s", name, d, set.from(name))
		}
	}
	if d := fs.Lookup("janitor-interval").Value.(flag.Getter).Get().(time.Duration); d < 0 {
		return usagef("--janitor-interval must not be negative, not %v%s", d, set.from("janitor-interval"))
	}
	if _, err := parseLogLevel(fs.Lookup("log-level").Value.String()); err != nil {
		return usagef("--log-level: %v%s", err, set.from("log-level"))
	}
	if _, err := legacy.ParseProfile(fs.Lookup("legacy-profile").Value.String()); err != nil {
		return usagef("--legacy-profile: %v%s", err, set.from("legacy-profile"))
	}
	if (fs.Lookup("tls-cert").Value.String() == "") != (fs.Lookup("tls-key").Value.String() == "") {
		return usagef("--tls-cert and --tls-key go together: give both, or neither")
	}
	return nil
}

// fileEntry is one setting of a config file.
type fileEntry struct {
	value string
	line  int
}

// parseConfigFile reads "key = value" lines (see the top of this file);
// keys must be flags of fs other than config.
func parseConfigFile(path string, data []byte, fs *flag.FlagSet) (map[string]fileEntry, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !utf8.Valid(data) {
		return nil, usagef("config file %s: not UTF-8 text", path)
	}
	entries := map[string]fileEntry{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		key, rest, ok := strings.Cut(line, "=")
		if !ok {
			return nil, usagef("config file %s line %d: want key = value", path, n)
		}
		key = strings.TrimSpace(key)
		value, err := parseValue(strings.TrimSpace(rest))
		if err != nil {
			return nil, usagef("config file %s line %d: %v", path, n, err)
		}
		switch {
		case key == "":
			return nil, usagef("config file %s line %d: no key before \"=\"", path, n)
		case key == "config":
			return nil, usagef("config file %s line %d: a config file cannot name another config file", path, n)
		case fs.Lookup(key) == nil:
			return nil, usagef("config file %s line %d: unknown key %q (keys are serve's flag names, such as addr)", path, n, key)
		}
		if prev, dup := entries[key]; dup {
			return nil, usagef("config file %s line %d: %s is already set on line %d", path, n, key, prev.line)
		}
		entries[key] = fileEntry{value: value, line: n}
	}
	return entries, nil
}

// parseValue reads what follows "=": a Go-quoted string, or bare text up
// to a '#' that follows whitespace; either may end in a comment.
func parseValue(s string) (string, error) {
	if strings.HasPrefix(s, `"`) {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return "", fmt.Errorf("malformed quoted value")
		}
		v, _ := strconv.Unquote(q)
		if after := strings.TrimSpace(s[len(q):]); after != "" && after[0] != '#' {
			return "", fmt.Errorf("unexpected text after the quoted value")
		}
		return v, nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return strings.TrimSpace(s[:i]), nil
		}
	}
	return s, nil
}

// quoteValue writes v so that parseValue reads it back unchanged.
func quoteValue(v string) string {
	if v == "" || v != strings.TrimSpace(v) || strings.ContainsAny(v, "#\"") || strings.ContainsFunc(v, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return strconv.Quote(v)
	}
	return v
}

// printConfig writes the effective configuration in the config file's
// format, each value with its source as a comment, secrets masked.
func printConfig(w io.Writer, fs *flag.FlagSet, set *settings) error {
	var b strings.Builder
	b.WriteString("# tokenadmin serve: effective configuration.\n" +
		"# Precedence: flag > environment TOKENADMIN_<FLAG_NAME> > config file > default.\n")
	if set.file == "" {
		b.WriteString("# config file: none\n")
	} else {
		fmt.Fprintf(&b, "# config file: %s (from %s)\n", set.file, set.sources["config"])
	}
	type line struct{ kv, src string }
	var lines []line
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		v := f.Value.String()
		if isSecret(f.Name) && v != "" {
			v = masked
		}
		kv := f.Name + " = " + quoteValue(v)
		width = max(width, len(kv))
		src := set.sources[f.Name]
		if src != "default" {
			src = "from " + src
		}
		lines = append(lines, line{kv, src})
	})
	for _, l := range lines {
		fmt.Fprintf(&b, "%-*s  # %s\n", width, l.kv, l.src)
	}
	if os.Getenv("TOKENADMIN_ADMIN_PASSWORD") != "" {
		fmt.Fprintf(&b, "# TOKENADMIN_ADMIN_PASSWORD = %s  (environment only: the first admin's password on a new database)\n", masked)
	} else {
		b.WriteString("# TOKENADMIN_ADMIN_PASSWORD is not set (a new database gets a generated admin password, printed once)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
