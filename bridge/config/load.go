package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment variable that overrides a key.
const EnvPrefix = "LEDBRIDGE"

// SystemPath is where a system-wide install keeps its configuration.
const SystemPath = "/etc/ledbridge/config.yaml"

// Error is an invalid configuration: which key, and what is wrong with it.
type Error struct {
	Key     string // dotted key, e.g. "webrtc.max_peers"; empty for a file-level problem
	Problem string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return "config: " + e.Problem
	}
	return "config: " + e.Key + ": " + e.Problem
}

// ErrInvalid is wrapped by every validation error, for callers that only branch on "bad config".
var ErrInvalid = errors.New("invalid configuration")

func (e *Error) Unwrap() error { return ErrInvalid }

// Options says where Load looks.
type Options struct {
	// File is an explicit --config path; it must exist. Empty means: SystemPath if it exists, else
	// $XDG_CONFIG_HOME/ledbridge/config.yaml (~/.config when unset) if it exists, else defaults.
	File string
	// Flags maps config keys to the command-line flags that override them; only flags the user set
	// take effect.
	Flags map[string]*pflag.Flag
	// LookupEnv reads the environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Environ lists the environment ("NAME=value" entries) for the check that warns about
	// LEDBRIDGE_* variables that are no setting. Nil means os.Environ, unless LookupEnv is set:
	// an environment the caller supplies without a listing is not checked.
	Environ func() []string
	// Getenv is used for XDG_CONFIG_HOME and HOME; nil means os.Getenv.
	Getenv func(string) string
	// SystemFile replaces SystemPath (tests); empty means SystemPath.
	SystemFile string
	// LEDsFlag is the flag with which the command gives every device's LED count itself
	// (test-pattern's --leds), nil for none: set to a count, it stands in for a ddp://, dnrgb://,
	// … line's ?leds=N, and the refusal of a line without one names it.
	LEDsFlag *pflag.Flag
}

// Loaded is a validated configuration and where it came from.
type Loaded struct {
	Config
	// File is the file that was read, or "" when only defaults, environment and flags applied.
	File string
	// FileEmpty says that File holds no setting at all (it is empty, or only comments): a file
	// truncated by a write that did not finish, or by `> config.yaml`.
	FileEmpty bool
	// Warnings are problems worth a log line that do not stop the program (a secrets file readable
	// by others, a LEDBRIDGE_* variable that is no setting, a supabase.url host that is no DNS
	// name, an effects key whose 0 changed meaning in this version). `config check` prints them
	// and start-up logs them.
	Warnings []string
}

// Load builds the configuration from defaults, the file, the environment and flags (later wins),
// and validates it. Any error is an *Error naming the key.
func Load(opts Options) (*Loaded, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	system := opts.SystemFile
	if system == "" {
		system = SystemPath
	}
	path, err := findFile(opts.File, system, getenv)
	if err != nil {
		return nil, err
	}

	v := viper.New()
	v.SetConfigType("yaml")
	for key, val := range flatten(Default()) {
		v.SetDefault(key, val)
	}

	out := &Loaded{File: path}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, &Error{Problem: fmt.Sprintf("reading %s: %v", path, err)}
		}
		out.FileEmpty = isEmptyYAML(raw)
		if err := checkOneDocument(path, raw); err != nil {
			return nil, err
		}
		text, err := keepTextAsWritten(path, raw)
		if err != nil {
			return nil, err
		}
		if err := checkFile(path, text); err != nil {
			return nil, err
		}
		if err := v.MergeConfig(strings.NewReader(string(text))); err != nil {
			return nil, &Error{Problem: fmt.Sprintf("%s: %v", path, oneLine(err))}
		}
		if w := secretsWarning(path, text); w != "" {
			out.Warnings = append(out.Warnings, w)
		}
	}

	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	fromEnv := map[string]bool{} // keys an environment variable set (and no flag overrode)
	// Whole numbers from the environment beyond int32, by key: see clampToInt32.
	beyond := map[string]int64{}
	for _, key := range v.AllKeys() {
		if val, ok := lookup(EnvName(key)); ok {
			fromEnv[key] = true
			if example, ok := objectListKeys[key]; ok {
				// A list of objects cannot be spelled as KEY=a,b: take it as JSON (or YAML),
				// so that TURN credentials (or the strips' looks) can live in the systemd
				// EnvironmentFile.
				var entries []map[string]any
				if err := yaml.Unmarshal([]byte(val), &entries); err != nil {
					return nil, &Error{Key: key, Problem: fmt.Sprintf("%s must be a JSON list such as %s", EnvName(key), example)}
				}
				var node yaml.Node
				if err := yaml.Unmarshal([]byte(val), &node); err == nil {
					var ce *Error
					if errors.As(leadingZeroError(&node, keyType(key), key), &ce) {
						return nil, &Error{Key: ce.Key, Problem: "from " + EnvName(key) + ": " + ce.Problem}
					}
				}
				list := make([]any, len(entries))
				for i, m := range entries {
					list[i] = m
				}
				if err := checkValue(key, list, keyType(key)); err != nil {
					return nil, err
				}
				v.Set(key, list)
				continue
			}
			if err := checkEnv(key, val); err != nil {
				return nil, err
			}
			if n, clamped, ok := clampToInt32(key, val); ok {
				beyond[key], val = n, clamped
			}
			v.Set(key, val)
		}
	}
	environ := opts.Environ
	if environ == nil && opts.LookupEnv == nil {
		environ = os.Environ
	}
	if environ != nil {
		out.Warnings = append(out.Warnings, unknownEnvWarnings(environ())...)
	}
	for key, f := range opts.Flags {
		if f != nil && f.Changed {
			delete(fromEnv, key)
			delete(beyond, key)
			v.Set(key, flagValue(f))
		}
	}

	cfg := Default()
	// Lists are replaced, not merged, so start from empty slices where the user set them.
	if err := v.Unmarshal(&cfg, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.ZeroFields = true
	}); err != nil {
		return nil, decodeError(err)
	}
	if err := cfg.validate(opts.LEDsFlag); err != nil {
		return nil, nameVariable(unclamp(err, beyond), fromEnv)
	}
	if len(beyond) > 0 {
		// Every whole-number key's range lies within int32 (TestEnvIntBeyondInt32GetsTheRangeLine
		// holds that), so Validate refused it above; this is the guard should one ever not.
		key := slices.Sorted(maps.Keys(beyond))[0]
		return nil, &Error{Key: key, Problem: fmt.Sprintf("from %s: %d is beyond the largest whole number a setting takes (%d)", EnvName(key), beyond[key], math.MaxInt32)}
	}
	if cfg.Supabase.URL != "" {
		out.Warnings = append(out.Warnings, realtimeURLWarnings(cfg.Supabase.URL)...)
	}
	out.Warnings = append(out.Warnings, effectZeroWarnings(cfg.Effects, func(key string) string {
		if fromEnv[key] {
			return EnvName(key)
		}
		return ""
	})...)
	out.Warnings = append(out.Warnings, statusTokenWarnings(cfg.Status.Token)...)
	out.Config = cfg
	return out, nil
}

// nameVariable adds the environment variable to a validation error about a key (or an item of a
// list key: webrtc.ice_servers[0].urls[1]) that the variable set, so that the operator looks in
// /etc/ledbridge/env rather than in a config file that does not mention the key.
func nameVariable(err error, fromEnv map[string]bool) error {
	var ce *Error
	if !errors.As(err, &ce) || ce.Key == "" {
		return err
	}
	for key := range fromEnv {
		if ce.Key == key || strings.HasPrefix(ce.Key, key+"[") || strings.HasPrefix(ce.Key, key+".") {
			return &Error{Key: ce.Key, Problem: "from " + EnvName(key) + ": " + ce.Problem}
		}
	}
	return err
}

// EnvName is the environment variable that overrides key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func findFile(explicit, system string, getenv func(string) string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", &Error{Problem: fmt.Sprintf("config file %s: %v", explicit, errors.Unwrap(err))}
		}
		return explicit, nil
	}
	candidates := []string{system}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		if home := getenv("HOME"); home != "" {
			dir = filepath.Join(home, ".config")
		}
	}
	if dir != "" {
		candidates = append(candidates, filepath.Join(dir, "ledbridge", "config.yaml"))
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", &Error{Problem: fmt.Sprintf("config file %s: %v", p, err)}
		}
	}
	return "", nil
}

// flagValue turns a pflag into a value viper can decode: slices as []string, the rest as text.
func flagValue(f *pflag.Flag) any {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	return f.Value.String()
}

// flatten lists every leaf key of c with its default value.
func flatten(c Config) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			key := t.Field(i).Tag.Get("mapstructure")
			if prefix != "" {
				key = prefix + "." + key
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Duration(0)) {
				walk(key, fv)
				continue
			}
			val := fv.Interface()
			if d, ok := val.(time.Duration); ok {
				val = d.String()
			}
			out[key] = val
		}
	}
	walk("", reflect.ValueOf(c))
	return out
}

// isEmptyYAML reports whether raw holds no YAML value (nothing, blanks, comments or a bare
// document marker). A file that does not parse is not empty: checkFile reports it.
func isEmptyYAML(raw []byte) bool {
	var doc any
	return yaml.Unmarshal(raw, &doc) == nil && doc == nil
}

// checkOneDocument refuses a file whose YAML goes on, after a '---' line, with a second document
// that holds anything: everything here (keepTextAsWritten, checkFile, viper) reads the first
// document only, so the settings of a second, its unknown keys and its syntax errors would be
// dropped without a word, and a file that starts with two '---' lines would load as the defaults.
// A document with nothing in it (a leading or trailing '---', one with only comments, or a bare
// null) is no setting lost, and is accepted.
func checkOneDocument(path string, raw []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for n := 1; ; n++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &Error{Problem: path + ": not valid YAML: " + oneLine(err)}
		}
		if n == 1 || isNullDocument(&doc) {
			continue
		}
		// A document after the first starts at its '---' line (the parser wants one there, even
		// after a '...'), which is where the decoder puts the document node.
		return &Error{Problem: fmt.Sprintf("%s: %s begins at line %d (a '---' line), and only the first is read: "+
			"its settings would be ignored; remove the '---' line so that one document holds every setting", path, nthDocument(n), doc.Line)}
	}
}

// isNullDocument reports whether the YAML document n holds no value: nothing (or only comments),
// or an explicit null (~).
func isNullDocument(n *yaml.Node) bool {
	if len(n.Content) == 0 {
		return true
	}
	c := n.Content[0]
	return c.Kind == yaml.ScalarNode && c.Tag == "!!null"
}

// nthDocument names the YAML document at position n (at least 2) in its file.
func nthDocument(n int) string {
	if words := []string{"second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"}; n-2 < len(words) {
		return "a " + words[n-2] + " YAML document"
	}
	return fmt.Sprintf("YAML document number %d", n)
}

// keepTextAsWritten returns the YAML raw with every unquoted number given to a text key (a
// status.token of 0042, a long numeric hub.secret, a room.name of 1e3) turned into the text as
// written: YAML reads 0042 as the number 34 and 12345678901234567890123 as a float that has lost
// digits, and viper's decoding would then hand the key "34" or "1.2345678901234568e+22". A number
// elsewhere is left for checkFile to judge.
func keepTextAsWritten(path string, raw []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, &Error{Problem: path + ": not valid YAML: " + oneLine(err)}
	}
	if len(doc.Content) == 0 || !retagText(doc.Content[0], reflect.TypeOf(Config{})) {
		return raw, nil
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, &Error{Problem: path + ": " + oneLine(err)}
	}
	return out, nil
}

// retagText walks n along the schema type t and makes every plain integer or float scalar that
// lands on a string field a string of the same text. It reports whether it changed anything.
func retagText(n *yaml.Node, t reflect.Type) bool {
	changed := false
	switch {
	case n.Kind == yaml.ScalarNode && t.Kind() == reflect.String && t != durationType:
		if n.Style == 0 && (n.Tag == "!!int" || n.Tag == "!!float") {
			n.Tag, n.Style = "!!str", yaml.DoubleQuotedStyle
			return true
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for _, item := range n.Content {
			changed = retagText(item, t.Elem()) || changed
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct && t != durationType:
		for i := 0; i+1 < len(n.Content); i += 2 {
			for j := 0; j < t.NumField(); j++ {
				if t.Field(j).Tag.Get("mapstructure") == n.Content[i].Value {
					changed = retagText(n.Content[i+1], t.Field(j).Type) || changed
				}
			}
		}
	}
	return changed
}

// checkFile parses the YAML itself and compares it against the schema, so that an unknown key or
// a value of the wrong type is reported with its full dotted name before viper's weak decoding
// (which needs to turn environment strings into numbers) could accept it.
func checkFile(path string, raw []byte) error {
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return &Error{Problem: path + ": not valid YAML: " + oneLine(err)}
	}
	if doc == nil {
		return nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return &Error{Problem: path + ": not valid YAML: " + oneLine(err)}
	}
	if err := leadingZeroError(&root, reflect.TypeOf(Config{}), ""); err != nil {
		return err
	}
	return checkValue("", doc, reflect.TypeOf(Config{}))
}

// leadingZeroError refuses a whole number written with a leading 0 (060, -024, 0_16, 00) for a
// number key in the YAML node n, which the schema type t describes at key: YAML reads 060 as the
// octal 48 (and 08, no octal, as the float 8), which an operator who padded a number does not
// mean. The explicit 0x, 0o and 0b prefixes, 0 itself and fractions such as 0.5 and 00.5 are left
// alone, and so are duration keys (time.Duration's Kind is Int64, but a bare number there is
// refused by checkValue as no duration, 010 and 10 alike). It follows aliases and merge keys
// (<<), as the decoding does.
func leadingZeroError(n *yaml.Node, t reflect.Type, key string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.AliasNode && n.Alias != nil:
		return leadingZeroError(n.Alias, t, key)
	case n.Kind == yaml.DocumentNode:
		for _, c := range n.Content {
			if err := leadingZeroError(c, t, key); err != nil {
				return err
			}
		}
	case n.Kind == yaml.ScalarNode && t == durationType && n.Tag == "!!int" && hasLeadingZero(n.Value):
		// checkValue's refusal quotes the decoded value, and YAML decodes 010 as 8: the line must
		// show what the operator wrote.
		return &Error{Key: key, Problem: fmt.Sprintf("want a duration such as 2s or 500ms, got whole number %s", short(n.Value))}
	case n.Kind == yaml.ScalarNode && isNumberKind(t.Kind()) && t != durationType:
		// The resolved tag alone says that YAML reads the text as a number: a plain 060 has it, and
		// so do an explicitly tagged !!int 060 and !!int "060", whose quotes the tag overrides
		// (their Style is TaggedStyle, with the quoting's), while an untagged "060" is !!str.
		if n.Tag == "!!int" || n.Tag == "!!float" {
			if problem := LeadingZeroProblem(n.Value); problem != "" {
				return &Error{Key: key, Problem: problem}
			}
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			if err := leadingZeroError(item, t.Elem(), fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct && t != durationType:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" { // <<: a mapping, an alias of one, or a list of them, merged into this one
				for v.Kind == yaml.AliasNode && v.Alias != nil {
					v = v.Alias
				}
				merged := []*yaml.Node{v}
				if v.Kind == yaml.SequenceNode {
					merged = v.Content
				}
				for _, m := range merged {
					if err := leadingZeroError(m, t, key); err != nil {
						return err
					}
				}
				continue
			}
			for j := 0; j < t.NumField(); j++ {
				if t.Field(j).Tag.Get("mapstructure") == k.Value {
					sub := k.Value
					if key != "" {
						sub = key + "." + k.Value
					}
					if err := leadingZeroError(v, t.Field(j).Type, sub); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func isNumberKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// hasLeadingZero reports whether s is a whole number, signed or not, written with a 0 before
// further digits (060, -024, 0_16, 00), which YAML and strconv's base 0 take for octal. 0, 0.5,
// 00.5, 0x3c, 0o17 and 0b11 are not.
func hasLeadingZero(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if len(s) < 2 || s[0] != '0' {
		return false
	}
	for _, r := range s[1:] {
		if (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// LeadingZeroProblem is, for text written as a whole number with a leading 0 (060, -024, 0_16,
// 00), the refusal a number key gives it, with the decimal spelling meant and the value strconv's
// base 0 (pflag's IntVar, the environment's decoding) reads it as: "write 60, not 060: a leading
// 0 means octal (060 is 48)". It is "" for any other text: 0, 60, 0.5, and the explicit 0x, 0o and
// 0b prefixes. A command's integer flags refuse by it what a config key refuses.
func LeadingZeroProblem(text string) string {
	if !hasLeadingZero(text) {
		return ""
	}
	var read *int64
	if n, err := strconv.ParseInt(strings.ReplaceAll(text, "_", ""), 0, 64); err == nil { // as YAML resolves it
		read = &n
	}
	return leadingZeroProblem(text, read)
}

// leadingZeroProblem is the refusal of the number text that hasLeadingZero matched, with the
// decimal spelling meant, and, as read, the value it would have been taken for (nil when the
// reader at hand does not take it for an octal).
func leadingZeroProblem(text string, read *int64) string {
	sign, digits := "", text
	if text[0] == '+' || text[0] == '-' {
		sign, digits = text[:1], text[1:]
	}
	digits = strings.TrimLeft(strings.ReplaceAll(digits, "_", ""), "0")
	if digits == "" {
		digits = "0"
	}
	problem := fmt.Sprintf("write %s%s, not %s: a leading 0 means octal", sign, digits, text)
	if read != nil {
		problem += fmt.Sprintf(" (%s is %d)", text, *read)
	}
	return problem
}

var durationType = reflect.TypeOf(time.Duration(0))

// objectListKeys are the keys whose value is a list of objects, which an environment variable
// gives as JSON, with an example for the error about one that is not.
var objectListKeys = map[string]string{
	"webrtc.ice_servers": `[{"urls":["turn:host:3478"],"username":"u","credential":"c"}]`,
	"strips":             `[{"device":"bar","effect":"notes","reverse":true}]`,
}

// checkEnv checks an environment variable's text against its key's type, so that a typo names
// the variable and the key instead of surfacing as a bare strconv error from viper's decoding.
func checkEnv(key, val string) error {
	t := keyType(key)
	if t == nil {
		return nil
	}
	bad := func(want string) error {
		return &Error{Key: key, Problem: fmt.Sprintf("from %s: want %s, got %s", EnvName(key), want, short(val))}
	}
	if isNumberKind(t.Kind()) && t != durationType && hasLeadingZero(val) { // a duration's own check follows
		var read *int64
		if n, err := strconv.ParseInt(val, 0, 64); err == nil && t.Kind() != reflect.Float32 && t.Kind() != reflect.Float64 {
			read = &n // the decoding parses a whole number with base 0, as here; a float's text is decimal
		}
		return &Error{Key: key, Problem: fmt.Sprintf("from %s: %s", EnvName(key), leadingZeroProblem(val, read))}
	}
	switch {
	case t == durationType:
		if _, err := time.ParseDuration(val); err != nil {
			return bad("a duration such as 2s or 500ms")
		}
	case t.Kind() == reflect.Int:
		if _, err := strconv.ParseInt(val, 0, 64); err != nil { // base 0, as the decoder parses it
			return bad("a whole number")
		}
	case t.Kind() == reflect.Float64 || t.Kind() == reflect.Float32:
		if _, err := strconv.ParseFloat(val, 64); err != nil {
			return bad("a number")
		}
	case t.Kind() == reflect.Bool:
		if _, err := strconv.ParseBool(val); err != nil {
			return bad("true or false")
		}
	}
	return nil
}

// clampToInt32 returns, for the environment text val of a whole-number key that checkEnv passed
// and that lies beyond int32, its value and the nearest int32 as text. Load decodes that instead,
// because int is 32 bits on 32-bit ARM, where decoding the value itself failed with a bare
// strconv "value out of range"; every key's range lies within int32, so Validate still refuses
// it, and unclamp puts the value back into its message. Clamping on every architecture, not only
// where it must, keeps the message the same line everywhere.
func clampToInt32(key, val string) (n int64, clamped string, ok bool) {
	if t := keyType(key); t == nil || t.Kind() != reflect.Int {
		return 0, "", false
	}
	n, err := strconv.ParseInt(val, 0, 64)
	if err != nil || (n >= math.MinInt32 && n <= math.MaxInt32) {
		return 0, "", false
	}
	return n, strconv.FormatInt(min(max(n, math.MinInt32), math.MaxInt32), 10), true
}

// unclamp rewrites a validation error about a key whose environment value clampToInt32 clamped
// so that it shows the value as given, in either of Validate's spellings (%d and %g).
func unclamp(err error, beyond map[string]int64) error {
	var ce *Error
	if !errors.As(err, &ce) {
		return err
	}
	n, ok := beyond[ce.Key]
	if !ok {
		return err
	}
	c := min(max(n, math.MinInt32), math.MaxInt32)
	problem := strings.ReplaceAll(ce.Problem, fmt.Sprintf("(got %d)", c), fmt.Sprintf("(got %d)", n))
	problem = strings.ReplaceAll(problem, fmt.Sprintf("(got %g)", float64(c)), fmt.Sprintf("(got %g)", float64(n)))
	return &Error{Key: ce.Key, Problem: problem}
}

// keyType is the Go type of the dotted key in Config, or nil if there is no such leaf.
func keyType(key string) reflect.Type {
	t := reflect.TypeOf(Config{})
	for _, part := range strings.Split(key, ".") {
		if t.Kind() != reflect.Struct {
			return nil
		}
		var found bool
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).Tag.Get("mapstructure") == part {
				t, found = t.Field(i).Type, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	return t
}

func checkValue(key string, val any, t reflect.Type) error {
	if val == nil {
		return nil // an empty value keeps the default
	}
	wrong := func(want string) error {
		return &Error{Key: key, Problem: fmt.Sprintf("want %s, got %s %v", want, yamlKind(val), short(val))}
	}
	switch {
	case t.Kind() == reflect.Pointer: // an optional value (strips[].brightness)
		return checkValue(key, val, t.Elem())
	case t == durationType:
		s, ok := val.(string)
		if !ok {
			return wrong("a duration such as 2s or 500ms")
		}
		if _, err := time.ParseDuration(s); err != nil {
			return wrong("a duration such as 2s or 500ms")
		}
		return nil
	case t.Kind() == reflect.Struct:
		m, ok := val.(map[string]any)
		if !ok {
			return wrong("a mapping")
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			fields[t.Field(i).Tag.Get("mapstructure")] = t.Field(i)
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			sub := k
			if key != "" {
				sub = key + "." + k
			}
			f, ok := fields[k]
			if !ok {
				return &Error{Key: sub, Problem: "unknown key" + suggest(k, fields)}
			}
			if err := checkValue(sub, m[k], f.Type); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Slice:
		list, ok := val.([]any)
		if !ok {
			return wrong("a list")
		}
		for i, item := range list {
			if err := checkValue(fmt.Sprintf("%s[%d]", key, i), item, t.Elem()); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.String:
		switch val.(type) {
		case string:
			return nil
		case int, float64: // a bare number where text is expected is fine for codes and secrets
			return nil
		}
		return wrong("text")
	case t.Kind() == reflect.Bool:
		if _, ok := val.(bool); !ok {
			return wrong("true or false")
		}
		return nil
	case t.Kind() == reflect.Int:
		if problem := beyondInt32(val); problem != "" {
			return &Error{Key: key, Problem: problem}
		}
		if _, ok := val.(int); !ok {
			return wrong("a whole number")
		}
		return nil
	case t.Kind() == reflect.Float64 || t.Kind() == reflect.Float32:
		switch val.(type) {
		case int, int64, uint64, float64:
			return nil
		}
		return wrong("a number")
	}
	return nil
}

// beyondInt32 is the range line for a whole number from the file that no setting takes, or ""
// for any other value. The YAML decoder gives such a number as an int on 64-bit, an int64 on
// 32-bit ARM (where int is 32 bits), a uint64 beyond int64 and a float64 beyond uint64; every
// whole-number key's range lies within int32, so refusing them here gives one line on every
// GOARCH, and keeps an int64 from reaching the decoding, which would cut it to 32 bits there.
func beyondInt32(val any) string {
	var high, low bool
	switch n := val.(type) {
	case int:
		high, low = int64(n) > math.MaxInt32, int64(n) < math.MinInt32
	case int64:
		high, low = n > math.MaxInt32, n < math.MinInt32
	case uint64:
		high = n > math.MaxInt32
	case float64: // a whole number beyond uint64 (99999999999999999999), or written as 1e20
		if n != math.Trunc(n) {
			return ""
		}
		high, low = n > math.MaxInt32, n < math.MinInt32
	}
	switch {
	case high:
		return fmt.Sprintf("%v is beyond the largest whole number a setting takes (%d)", val, math.MaxInt32)
	case low:
		return fmt.Sprintf("%v is beyond the smallest whole number a setting takes (%d)", val, math.MinInt32)
	}
	return ""
}

func yamlKind(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case bool:
		return "boolean"
	case int, int64, uint64:
		return "whole number"
	case float64:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "mapping"
	}
	return fmt.Sprintf("%T", v)
}

func short(v any) string {
	switch v.(type) {
	case []any, map[string]any:
		return ""
	}
	s := fmt.Sprintf("%q", fmt.Sprint(v))
	if len(s) > 40 {
		s = s[:37] + "…\""
	}
	return s
}

func suggest(k string, fields map[string]reflect.StructField) string {
	best, bestD := "", 3
	for name := range fields {
		if d := editDistance(k, name); d < bestD {
			best, bestD = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// decodeError turns mapstructure's multi-line report into one line naming the first bad key.
func decodeError(err error) error {
	msg := oneLine(err)
	// mapstructure v2 reports "decoding failed due to the following error(s):\n\n'room.mode' ..."
	if i := strings.Index(msg, "'"); i >= 0 {
		if j := strings.Index(msg[i+1:], "'"); j >= 0 {
			key := msg[i+1 : i+1+j]
			return &Error{Key: key, Problem: strings.TrimSpace(msg[i+1+j+1:])}
		}
	}
	return &Error{Problem: msg}
}

func oneLine(err error) string {
	s := err.Error()
	if i := strings.Index(s, "error(s):"); i >= 0 {
		s = s[i+len("error(s):"):]
	}
	s = strings.Join(strings.Fields(s), " ")
	return strings.TrimPrefix(s, "* ")
}

func secretsWarning(path string, raw []byte) string {
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o044 == 0 {
		return ""
	}
	var doc map[string]any
	if yaml.Unmarshal(raw, &doc) != nil || !hasSecret(doc) {
		return ""
	}
	return fmt.Sprintf("%s holds secrets but is readable by other users (mode %v): move them to the service's EnvironmentFile (/etc/ledbridge/env, mode 0600: LEDBRIDGE_SUPABASE_KEY=…) and keep this file readable: ledbridge.service runs as a dynamic user, never the file's owner, and cannot start with a config it cannot read (chmod 600 suits only a ledbridge run by hand as the owner)", path, st.Mode().Perm())
}

// hasSecret reports whether the decoded YAML v holds a secret anywhere: a key whose last part
// is a secret's (secretKeys) with a value set.
func hasSecret(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		for k, sub := range t {
			str, _ := sub.(string)
			switch secretKeys[k] {
			case secretValue:
				if str != "" {
					return true
				}
			case secretURLPassword:
				if urlWithPassword(str) {
					return true
				}
			}
			if hasSecret(sub) {
				return true
			}
		}
	case []any:
		for _, sub := range t {
			if hasSecret(sub) {
				return true
			}
		}
	}
	return false
}

func setPath(m map[string]any, key string, val any) {
	head, rest, nested := strings.Cut(key, ".")
	if !nested {
		m[key] = val
		return
	}
	sub, ok := m[head].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[head] = sub
	}
	setPath(sub, rest, val)
}
