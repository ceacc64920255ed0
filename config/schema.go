package config

import (
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// The schema walk checks the YAML node tree against the raw* types before
// viper sees it: it is the only place that still knows line numbers, and
// viper would quietly coerce wrong types ("domains: acme.com" becomes a
// one-element list) and fold the case of keys. It records the line of every
// key path, reports unknown keys, duplicate keys and wrong types, and marks
// wrongly typed paths so later checks stay quiet about them.

var (
	rawConfigType = reflect.TypeFor[rawConfig]()
	rawInlineType = reflect.TypeFor[rawInline]()
	rawDateType   = reflect.TypeFor[rawDate]()
)

// nameRE is what policy and tier names must look like. Viper lower-cases
// map keys and splits them at dots, so names outside this set would not
// survive loading; they also appear in CLI arguments and alert ids.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

type walker struct{ p *problems }

// walk checks node n against type t at key path path.
func (w walker) walk(n *yaml.Node, t reflect.Type, path string) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value is the same as an absent one
	}
	if t == rawDateType {
		w.scalar(n, path, "a date (YYYY-MM-DD)", "!!timestamp", "!!str")
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(n, t.Elem(), path)
	case reflect.Struct:
		if w.want(n, path, yaml.MappingNode, "a mapping") {
			w.walkStruct(n, t, path)
		}
	case reflect.Map:
		if w.want(n, path, yaml.MappingNode, "a mapping") {
			w.walkMap(n, t, path)
		}
	case reflect.Slice:
		if w.want(n, path, yaml.SequenceNode, "a list") {
			for i, item := range n.Content {
				ip := path + "[" + strconv.Itoa(i) + "]"
				w.p.lines[ip] = item.Line
				w.walk(item, t.Elem(), ip)
			}
		}
	case reflect.Interface:
		// A customer's commitment: a policy name or an inline policy.
		if n.Kind == yaml.MappingNode {
			w.walkStruct(n, rawInlineType, path)
			return
		}
		w.scalar(n, path, "a policy name or an inline policy", "!!str")
	case reflect.String:
		// Numbers are fine where text is wanted (an id of 42, a duration of 0).
		w.scalar(n, path, "a string", "!!str", "!!int", "!!float")
	case reflect.Int:
		w.scalar(n, path, "an integer", "!!int")
	case reflect.Bool:
		w.scalar(n, path, "true or false", "!!bool")
	}
}

// walkStruct checks a mapping's keys against the struct's fields.
func (w walker) walkStruct(n *yaml.Node, t reflect.Type, path string) {
	fields := structFields(t)
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	w.eachPair(n, path, func(key string, keyNode, val *yaml.Node, kp string) {
		ft, ok := fields[key]
		if !ok {
			w.p.addFile(keyNode.Line, kp, "unknown key%s", didYouMean(key, known))
			return
		}
		w.walk(val, ft, kp)
	})
}

// walkMap checks a mapping with free-form keys: policy and tier names.
func (w walker) walkMap(n *yaml.Node, t reflect.Type, path string) {
	w.eachPair(n, path, func(key string, keyNode, val *yaml.Node, kp string) {
		if !nameRE.MatchString(key) {
			w.p.addFile(keyNode.Line, kp, "invalid name %q: use lower-case letters, digits, '_' and '-'", key)
			w.p.bad[kp] = true
			return
		}
		w.walk(val, t.Elem(), kp)
	})
}

// eachPair calls fn for each key of a mapping, with merge keys (`<<:
// *anchor`) expanded; keys written out win over merged ones, as in YAML.
func (w walker) eachPair(n *yaml.Node, path string, fn func(key string, keyNode, val *yaml.Node, kp string)) {
	seen := map[string]bool{}
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			merged = append(merged, v)
			continue
		}
		kp := joinKey(path, k.Value)
		if seen[k.Value] {
			w.p.addFile(k.Line, kp, "duplicate key (first at line %d)", w.p.lines[kp])
			continue
		}
		seen[k.Value] = true
		w.p.lines[kp] = k.Line
		fn(k.Value, k, v, kp)
	}
	for _, m := range merged {
		m = deref(m)
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, src := range sources {
			src = deref(src)
			for i := 0; i+1 < len(src.Content); i += 2 {
				k, v := src.Content[i], src.Content[i+1]
				if seen[k.Value] {
					continue
				}
				seen[k.Value] = true
				kp := joinKey(path, k.Value)
				w.p.lines[kp] = k.Line
				fn(k.Value, k, v, kp)
			}
		}
	}
}

// want reports whether n has the wanted kind, recording a problem if not.
func (w walker) want(n *yaml.Node, path string, kind yaml.Kind, desc string) bool {
	if n.Kind == kind {
		return true
	}
	w.typeError(n, path, desc)
	return false
}

// scalar checks that n is a scalar with one of the given tags.
func (w walker) scalar(n *yaml.Node, path, desc string, tags ...string) {
	if n.Kind == yaml.ScalarNode && slices.Contains(tags, n.ShortTag()) {
		return
	}
	w.typeError(n, path, desc)
}

func (w walker) typeError(n *yaml.Node, path, desc string) {
	line := w.p.line(path)
	if line == 0 {
		line = n.Line
	}
	w.p.addFile(line, path, "want %s, got %s", desc, describe(n))
	w.p.bad[path] = true
}

// describe names what a node holds, for type errors. It never quotes the
// value: a misplaced secret must not end up in an error.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!bool":
		return "a boolean"
	case "!!int", "!!float":
		return "a number"
	case "!!timestamp":
		return "a timestamp"
	}
	return "a string"
}

// structFields maps the mapstructure keys of t (squashed embeds included)
// to their types.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if opts == "squash" {
			for k, v := range structFields(f.Type) {
				out[k] = v
			}
			continue
		}
		out[name] = f.Type
	}
	return out
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return deref(n.Content[0])
	}
	return n
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
