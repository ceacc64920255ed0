package store

import (
	"reflect"
	"testing"

	"github.com/touchbase/touchbase/cadence"
)

func TestPackedParticipants(t *testing.T) {
	ann := cadence.Participant{Address: "ann@acme.test", Name: "Ann \x1eX\x1d", Role: cadence.From}
	bob := cadence.Participant{Address: "bob@acme.test", Name: "Bob", Role: cadence.To, PartStat: "NEEDS-ACTION"}
	bobCc := cadence.Participant{Address: "bob@acme.test", Role: cadence.Cc}
	tests := []struct {
		name          string
		have, add     []cadence.Participant
		replace, same bool
		want          []cadence.Participant
	}{
		{"separators in a name become spaces", nil, []cadence.Participant{bob, ann, ann},
			false, false, []cadence.Participant{{Address: "ann@acme.test", Name: "Ann  X ", Role: cadence.From}, bob}},
		{"a new role is a new participant", []cadence.Participant{bob}, []cadence.Participant{bobCc},
			false, false, []cadence.Participant{bobCc, bob}},
		{"a copy does not rename", []cadence.Participant{bob}, []cadence.Participant{{Address: bob.Address, Name: "B", Role: cadence.To, PartStat: "ACCEPTED"}},
			false, true, []cadence.Participant{bob}},
		{"a meeting's new version does", []cadence.Participant{bob}, []cadence.Participant{{Address: bob.Address, Name: "B", Role: cadence.To, PartStat: "ACCEPTED"}},
			true, false, []cadence.Participant{{Address: bob.Address, Name: "B", Role: cadence.To, PartStat: "ACCEPTED"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			have := PackParticipants(tc.have)
			packed, changed := mergePacked(have, tc.add, tc.replace)
			if got := unpackPeople(nil, packed, true); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if changed == tc.same {
				t.Errorf("changed = %t, want %t", changed, !tc.same)
			}
		})
	}
}
