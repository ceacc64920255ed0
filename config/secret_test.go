package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// leaked is a value that must never show up in output.
const leaked = "LEAKED-SECRET-VALUE-4711"

func TestSecretValue(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("  "+leaked+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOUCHBASE_TEST_SECRET", leaked)
	for _, tc := range []struct {
		name string
		s    Secret
		desc string // String()
	}{
		{"file", Secret{File: file}, "file:" + file},
		{"env", Secret{Env: "TOUCHBASE_TEST_SECRET"}, "env:TOUCHBASE_TEST_SECRET"},
		// The command itself may hold a secret: String hides it too.
		{"command", Secret{Command: "printf '%s\\n' " + leaked}, "command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.s.Value(t.Context())
			if err != nil {
				t.Fatalf("Value: %v", err)
			}
			if got != leaked {
				t.Errorf("Value = %q, want %q", got, leaked)
			}
			if tc.s.String() != tc.desc {
				t.Errorf("String = %q, want %q", tc.s.String(), tc.desc)
			}
			text, _ := tc.s.MarshalText()
			for _, out := range []string{tc.s.String(), string(text), fmt.Sprintf("%v %+v", tc.s, tc.s)} {
				if strings.Contains(out, leaked) {
					t.Errorf("output reveals the secret: %q", out)
				}
			}
		})
	}
}

func TestSecretValueErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Secret
		want string
	}{
		{"missing file", Secret{File: filepath.Join(t.TempDir(), "none")}, "read secret file"},
		{"unset env", Secret{Env: "TOUCHBASE_TEST_SURELY_UNSET_PASSWORD"}, "is not set"},
		{"failing command", Secret{Command: "echo " + leaked + "; exit 3"}, "exit status 3"},
		{"nothing", Secret{}, "no secret configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.s.Value(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Value: %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), leaked) {
				t.Errorf("error reveals command output: %v", err)
			}
		})
	}
}

// TestErrorsNeverContainSecrets loads configs that get secrets wrong in
// several ways and checks that no problem message quotes the secret.
func TestErrorsNeverContainSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	badPrefix := write("bad-prefix.whsec", "sk_"+leaked+"\n")
	badBase64 := write("bad-base64.whsec", "whsec_"+leaked+"!!\n")
	write("touchbase.yaml", `
accounts:
  - name: alice
    email: alice@example.com
    imap:
      addr: imap.example.com:993
      password: `+leaked+`
      password_command: printf `+leaked+`
      password_file: [`+leaked+`]
    caldav:
      url: https://user:`+leaked+`@dav.example.com:bad/
      password_env: `+leaked+`
webhooks:
  - name: a
    url: https://hooks.example.com/
    secret_file: bad-prefix.whsec
  - name: b
    url: ftp://hooks.example.com/`+leaked+`
    secret_file: bad-base64.whsec
`)
	_, err := Load(filepath.Join(dir, "touchbase.yaml"))
	if err == nil {
		t.Fatal("Load succeeded, want errors")
	}
	msg := err.Error()
	// The problems must be there, just without the value.
	for _, want := range []string{"password: unknown key", badPrefix, badBase64, "caldav.url: invalid URL", "webhooks[1].url"} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, strings.TrimPrefix(leaked, "LEAKED-")) {
		t.Errorf("errors reveal a secret:\n%s", msg)
	}
}

// TestConfigPrintsNoSecret formats a loaded Config the way a careless log
// line would and checks that no secret value appears.
func TestConfigPrintsNoSecret(t *testing.T) {
	t.Setenv("TOUCHBASE_TEST_ENV_PW", leaked)
	path := writeConfig(t, `
accounts:
  - name: alice
    email: alice@example.com
    imap:
      addr: imap.example.com:993
      password_command: printf `+leaked+`
    caldav:
      url: https://dav.example.com/
      password_env: TOUCHBASE_TEST_ENV_PW
`)
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, a := range c.Accounts {
		for _, out := range []string{fmt.Sprintf("%v", a), fmt.Sprintf("%+v", *a.IMAP), fmt.Sprintf("%+v", *a.CalDAV), c.Summary()} {
			if strings.Contains(out, leaked) {
				t.Errorf("formatted config reveals a secret: %s", out)
			}
		}
	}
}
