package store

import (
	"slices"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

func BenchmarkZZSaveMail(b *testing.B) {
	s, _ := Open(b.Context(), b.TempDir())
	defer s.Close()
	for _, p := range strings.Split(os.Getenv("ZZPRAGMA"), ";") {
		if p != "" {
			if _, err := s.db.Exec("PRAGMA " + p); err != nil {
				b.Fatal(err)
			}
		}
	}
	now := time.Now()
	r := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	bs, _ := strconv.Atoi(os.Getenv("ZZBS"))
	for i := 0; i < b.N; i += bs {
		var ins []cadence.Interaction
		for j := i; j < i+bs; j++ {
			id := fmt.Sprintf("%016x.%d@kestrel-medical.test", r.Uint64(), j)
			ins = append(ins, cadence.Interaction{Key: "mid:" + id, Kind: "email", At: now.Add(-time.Duration(r.IntN(1000000)) * time.Second), Subject: "Re: Angebot für Kestrel Medical GmbH", Sender: "a@b.c", Account: "acc",
				MessageID: id, InReplyTo: fmt.Sprintf("%016x.%d@kestrel-medical.test", r.Uint64(), j), References: []string{fmt.Sprintf("%016x.%d@kestrel-medical.test", r.Uint64(), j), fmt.Sprintf("%016x.%d@kestrel-medical.test", r.Uint64(), j)},
				Participants: []cadence.Participant{{Address: fmt.Sprintf("p%d@cust%d.example", r.IntN(1000), r.IntN(200)), Role: "from", Name: "Ben Schmidt"}, {Address: "carol@example.test", Role: "to", Name: "Carol Castillo"}, {Address: fmt.Sprintf("p%d@example.test", r.IntN(6)), Role: "cc", Name: "Priya Jensen"}}})
		}
		if os.Getenv("ZZSORT") != "" {
			slices.SortFunc(ins, func(a, b cadence.Interaction) int { return strings.Compare(a.Key, b.Key) })
		}
		if _, err := s.SaveMail(b.Context(), "acc", "INBOX", ins, FolderState{UIDValidity: 1, UIDNext: uint32(i)}); err != nil {
			b.Fatal(err)
		}
	}
}
