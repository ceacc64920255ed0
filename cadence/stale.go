package cadence

// carried returns the names of the stale sources that carried any of the
// customer's interactions in the evaluated history. Entries share interned
// sets of people and sources, so each set is looked at once.
func (e *custEval) carried(stale Stale) map[string]bool {
	want := make(map[string]bool, len(stale))
	for _, s := range stale {
		if !s.LastSuccessAt.IsZero() {
			want[s.Name] = true
		}
	}
	out := map[string]bool{}
	if len(want) == 0 {
		return out
	}
	seen := map[uint32]bool{}
	for i := range e.es {
		set := e.es[i].people
		if seen[set] {
			continue
		}
		seen[set] = true
		for _, name := range e.h.sources[set] {
			if want[name] {
				out[name] = true
			}
		}
		if len(out) == len(want) {
			break
		}
	}
	return out
}
