package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/viper"
	yaml "go.yaml.in/yaml/v3"
)

// envPrefix starts every environment override: TOUCHBASE_SYNC_POLL_INTERVAL
// overrides sync.poll_interval.
const envPrefix = "TOUCHBASE"

// Defaults (SPEC "Configuration"). sync.stale_after has no fixed default:
// it is max(3 × poll_interval, 1h).
const (
	DefaultDataDir        = "/var/lib/touchbase"
	DefaultSocket         = "/run/touchbase/touchbase.sock"
	DefaultStore          = StoreSQLite
	DefaultTimezone       = "UTC"
	DefaultLogLevel       = "info"
	DefaultBackfill       = "365d"
	DefaultPollInterval   = "5m"
	DefaultHorizon        = "180d"
	DefaultRepeatInterval = "24h"
	DefaultAtRiskBefore   = "1d"
)

// Load reads, validates and normalises the configuration at path (SPEC
// "Configuration"). Every key can be overridden by an environment variable
// TOUCHBASE_SECTION_KEY, also when the file lacks the key; the list and map
// sections (accounts, customers, webhooks, policies, tiers) cannot be
// overridden element by element. Relative file paths in the configuration
// (data_dir, listen.socket, secret and CA files) are resolved against the
// directory of the configuration file, so the result does not depend on
// the working directory.
//
// Secrets are not read into the Config: Load only checks that secret files
// are readable (and that webhook secrets are well-formed) and that
// password_env variables are set.
//
// On any problem Load returns a nil Config and an Errors holding every
// problem found, each naming its key path and, where known, its line.
// Doubtful values that do not make the configuration unusable are in
// Config.Warnings instead.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return nil, Errors{{File: path, Msg: "cannot read config: " + msg, err: err}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{syntaxError(path, err)}
	}
	if empty(&doc) {
		// Defaults and the environment cannot supply accounts or
		// customers, so an empty file is a wrong or truncated one.
		return nil, Errors{{File: path, Msg: "empty configuration: the file holds no settings (see configs/touchbase.example.yaml)"}}
	}
	p := newProblems(path)
	walker{p}.walk(&doc, rawConfigType, "")
	checkEnv(p, rawConfigType, "")
	raw, err := decode(data)
	if err != nil && len(p.errs) == 0 {
		// Not explained by a problem found above; never drop it silently.
		p.addFile(0, "", "%s", oneLine(err.Error()))
	}
	if de := (decodeError{}); err != nil && !errors.As(err, &de) {
		return nil, p.sorted() // the file could not be read as a whole
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: "resolve path: " + err.Error(), err: err}}
	}
	b := &builder{p: p, dir: filepath.Dir(abs)}
	cfg := b.build(raw)
	cfg.Path = abs
	if len(p.errs) > 0 {
		return nil, p.sorted()
	}
	cfg.Warnings = p.warnings()
	return cfg, nil
}

// empty reports whether a parsed file holds no value: no content at all,
// only comments, or a lone null ("~").
func empty(doc *yaml.Node) bool {
	if len(doc.Content) == 0 {
		return true
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// decodeError marks an error from viper's Unmarshal, after which the raw
// config is still usable for the fields that did decode.
type decodeError struct{ error }

func (e decodeError) Unwrap() error { return e.error }

// decode reads the file through a fresh viper instance (never the global
// one) with environment overrides and defaults applied.
func decode(data []byte) (rawConfig, error) {
	// ExperimentalBindStruct makes Unmarshal ask the environment for every
	// key of rawConfig, not only for the keys present in the file.
	v := viper.NewWithOptions(
		viper.ExperimentalBindStruct(),
		viper.EnvKeyReplacer(strings.NewReplacer(".", "_")),
	)
	v.SetConfigType("yaml")
	v.SetEnvPrefix(envPrefix)
	v.AutomaticEnv()
	for k, val := range map[string]any{
		"data_dir":                 DefaultDataDir,
		"store":                    DefaultStore,
		"log_level":                DefaultLogLevel,
		"listen.socket":            DefaultSocket,
		"sync.backfill":            DefaultBackfill,
		"sync.poll_interval":       DefaultPollInterval,
		"sync.idle":                true,
		"sync.horizon":             DefaultHorizon,
		"alerting.repeat_interval": DefaultRepeatInterval,
		"alerting.at_risk_before":  DefaultAtRiskBefore,
	} {
		v.SetDefault(k, val)
	}
	var raw rawConfig
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return raw, fmt.Errorf("read yaml: %w", err)
	}
	if err := v.Unmarshal(&raw); err != nil {
		return raw, decodeError{fmt.Errorf("decode: %w", err)}
	}
	return raw, nil
}

// checkEnv checks that environment overrides of typed keys parse, so the
// problem is reported with its key rather than as viper's decode error.
// Viper would let TOUCHBASE_ACCOUNTS replace the whole accounts list with a
// string; that is refused.
func checkEnv(p *problems, t reflect.Type, path string) {
	for key, ft := range structFields(t) {
		kp := joinKey(path, key)
		var err error
		switch ft.Kind() {
		case reflect.Struct:
			checkEnv(p, ft, kp)
			continue
		case reflect.Bool:
			if s, ok := os.LookupEnv(envName(kp)); ok && s != "" {
				_, err = strconv.ParseBool(s)
			}
		case reflect.Int:
			if s, ok := os.LookupEnv(envName(kp)); ok && s != "" {
				_, err = strconv.Atoi(s)
			}
		case reflect.Slice, reflect.Map:
			// A comma-separated value works for a list of strings only.
			if s, ok := os.LookupEnv(envName(kp)); ok && s != "" && ft.Elem().Kind() != reflect.String {
				p.add(kp, "cannot be set from the environment; edit the file")
				p.bad[kp] = true
			}
		}
		if err != nil {
			p.add(kp, "want %s", map[reflect.Kind]string{reflect.Bool: "true or false", reflect.Int: "an integer"}[ft.Kind()])
			p.bad[kp] = true
		}
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the messages of yaml.v3's parser (as opposed to
// its scanner). For them it reports the line counted from 0.
var yamlParserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found undefined tag handle",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

// syntaxError turns a YAML parse error into an Error with its line.
func syntaxError(file string, err error) *Error {
	msg := oneLine(strings.TrimPrefix(err.Error(), "yaml: "))
	e := &Error{File: file, Msg: "invalid YAML: " + msg, err: err}
	if m := yamlLineRE.FindStringSubmatch(oneLine(err.Error())); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + m[2]
		if slices.Contains(yamlParserProblems, m[2]) {
			e.Line++
		}
	}
	return e
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
