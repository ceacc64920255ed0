package imapsource

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// FuzzClassify feeds arbitrary header blocks to the classification: it
// must never panic, always decide (an interaction or a skip), and what it
// keeps must be storable. Seeds: the fixtures, and a sample of the mail
// corpus when it is present. CI runs it briefly:
//
//	go test -run=^$ -fuzz=FuzzClassify -fuzztime=20s ./sync/imapsource/
func FuzzClassify(f *testing.F) {
	files, _ := filepath.Glob("testdata/mail/*.eml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b, int64(0))
		}
	}
	addCorpusSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte, unix int64) {
		internal := time.Time{}
		if unix > 0 {
			internal = time.Unix(unix%(1<<34), 0)
		}
		in, skip := classify(raw, internal, "fuzz")
		again, skip2 := classify(raw, internal, "fuzz")
		if skip != skip2 || !reflect.DeepEqual(in, again) {
			t.Fatalf("classify is not deterministic")
		}
		switch skip {
		case keep:
			if err := checkStorable(in); err != nil {
				t.Fatalf("kept an unstorable interaction: %v\n%+v", err, in)
			}
		case noAddress, noTime:
		default:
			t.Fatalf("unknown skip reason %q", skip)
		}
	})
}

// addCorpusSeeds adds every 20th corpus message as a seed (all of them
// would make each fuzz start slow).
func addCorpusSeeds(f *testing.F) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "corpus", "mail"))
	if env := os.Getenv("TOUCHBASE_CORPUS"); env != "" {
		dir = env
	}
	if err != nil {
		return
	}
	i := 0
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if i++; i%20 == 0 {
			if b, err := os.ReadFile(path); err == nil && len(b) < 64<<10 {
				f.Add(b, int64(1767225600))
			}
		}
		return nil
	})
}
