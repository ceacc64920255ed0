package imapsource

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/touchbase/touchbase/cadence"
)

// corpusDir is ../shared/corpus/mail beside the repository (or
// TOUCHBASE_CORPUS): thousands of real, messy messages.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("TOUCHBASE_CORPUS")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus", "mail")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mail corpus required under CI: %v", err)
		}
		t.Skipf("\n*** SKIPPING CORPUS TEST: no mail corpus at %s ***\n", dir)
	}
	return dir
}

// corpusMessages returns every message under dir: a file is one message,
// except an mbox (a file whose first line is a "From " separator), which
// is split at its separators so each of its messages is tried.
func corpusMessages(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	msgs := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".tsv") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		parts := splitMbox(b)
		for i, m := range parts {
			name := rel
			if len(parts) > 1 {
				name = fmt.Sprintf("%s#%d", rel, i+1)
			}
			msgs[name] = m
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// splitMbox splits an mbox at "From " lines that follow a blank line (or
// start the file); anything else is one message.
func splitMbox(b []byte) [][]byte {
	body := bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(body, []byte("From ")) {
		return [][]byte{b}
	}
	var out [][]byte
	start := 0
	for i := 0; i < len(body); {
		j := bytes.IndexByte(body[i:], '\n')
		if j < 0 {
			break
		}
		next := i + j + 1
		blank := len(bytes.TrimSpace(body[i:next])) == 0
		if blank && bytes.HasPrefix(body[next:], []byte("From ")) {
			out = append(out, body[start:next])
			start = next
		}
		i = next
	}
	return append(out, body[start:])
}

// TestCorpus runs every corpus message through the classification the
// sync uses. Each must yield an interaction or a counted skip, never a
// panic, and what it yields must be storable: valid UTF-8, a key, a time,
// normalised addresses.
func TestCorpus(t *testing.T) {
	msgs := corpusMessages(t, corpusDir(t))
	internal := time.Now() // as a server's INTERNALDATE would be
	counts := map[string]int{}
	names := make([]string, 0, len(msgs))
	for name := range msgs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		in, skip, panicked := classifySafely(msgs[name], internal)
		switch {
		case panicked != nil:
			t.Errorf("%s: panic: %v", name, panicked)
			counts["panic"]++
		case skip != keep:
			counts["skipped_"+string(skip)]++
		default:
			if err := checkStorable(in); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			counts["interaction"]++
			if in.Filter != cadence.Counts {
				counts["filtered_"+string(in.Filter)]++
			}
			if strings.HasPrefix(in.Key, "dig:") {
				counts["digest_key"]++
			}
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "corpus: %d messages\n", len(msgs))
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-22s %5d\n", k, counts[k])
	}
	t.Log(b.String())
	if counts["interaction"] < len(msgs)*9/10 {
		t.Errorf("only %d of %d corpus messages yield an interaction", counts["interaction"], len(msgs))
	}
}

func classifySafely(raw []byte, internal time.Time) (in cadence.Interaction, skip skipReason, panicked any) {
	defer func() { panicked = recover() }()
	in, skip = classify(raw, internal, "corpus")
	return in, skip, nil
}

// checkStorable checks what the store and the cadence engine rely on.
func checkStorable(in cadence.Interaction) error {
	switch {
	case in.Key == "" || !utf8.ValidString(in.Key):
		return fmt.Errorf("bad key %q", in.Key)
	case in.At.IsZero() || in.At.Location() != time.UTC:
		return fmt.Errorf("bad time %v", in.At)
	case len(in.Participants) == 0:
		return fmt.Errorf("no participants")
	case !utf8.ValidString(in.Subject) || len(in.Subject) > maxSubjectBytes:
		return fmt.Errorf("bad subject %q", in.Subject)
	}
	for _, p := range in.Participants {
		if p.Address != strings.ToLower(p.Address) || !strings.Contains(p.Address, "@") ||
			!utf8.ValidString(p.Address) || !utf8.ValidString(p.Name) || strings.ContainsAny(p.Address, " \t\r\n") {
			return fmt.Errorf("bad participant %+v", p)
		}
	}
	for _, id := range append([]string{in.MessageID, in.InReplyTo}, in.References...) {
		if strings.ContainsAny(id, " <>\r\n") || !utf8.ValidString(id) {
			return fmt.Errorf("bad message id %q", id)
		}
	}
	return nil
}
