package jsonkeys

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ledbridge/ledbridge/bridge/testenv"
)

// jsonParseCheck is the script node runs for TestParseMatchesJSONParse: for each case it reads
// the input with JSON.parse, as a browser reads a broadcast, and prints a line for every way the
// Go reading differs: accepted or not, a name present or not, a value that JSON.parse reads as
// another (Go's raw value is itself read with JSON.parse and compared deeply).
const jsonParseCheck = `
const util = require('util');
let data = '';
process.stdin.on('data', (d) => { data += d; });
process.stdin.on('end', () => {
  const { names, cases } = JSON.parse(data);
  let checked = 0;
  for (const c of cases) {
    const text = Buffer.from(c.input, 'base64').toString('utf8');
    let v, parsed = true;
    try { v = JSON.parse(text); } catch (e) { parsed = false; }
    const isObject = parsed && v !== null && typeof v === 'object' && !Array.isArray(v);
    if (isObject !== c.accepted) {
      console.log('accepted ' + c.accepted + ', JSON.parse: object ' + isObject + ': ' + JSON.stringify(text));
      continue;
    }
    if (!isObject) { checked++; continue; }
    for (const name of names) {
      const has = Object.prototype.hasOwnProperty.call(v, name);
      const raw = Object.prototype.hasOwnProperty.call(c.members, name) ? c.members[name] : undefined;
      if (has !== (raw !== undefined)) {
        console.log('member ' + JSON.stringify(name) + ': Go present ' + (raw !== undefined) + ', JSON.parse ' + has + ': ' + JSON.stringify(text));
      } else if (has && !util.isDeepStrictEqual(JSON.parse(raw), v[name])) {
        console.log('member ' + JSON.stringify(name) + ': Go ' + raw + ', JSON.parse ' + JSON.stringify(v[name]) + ': ' + JSON.stringify(text));
      }
    }
    checked++;
  }
  console.log('checked ' + checked);
});
`

// caseVariantObjects returns n objects built at random (seeded, so every run checks the same)
// from keys that differ from fuzzNames only in case, escapes or a surrogate's half, repeated
// keys, and values nested in them.
func caseVariantObjects(n int) []string {
	keys := []string{`event`, `Event`, `EVENT`, `\u0065vent`, `\u0045vent`, `payload`, `Payload`, `payl\u006fad`,
		`fromPeerId`, `FromPeerId`, `fromPeerID`, `from\u0050eerId`, `from\u0070eerId`, `a`, `A`, `\u0061`,
		`\"/\\`, `\u0022\/\u005c`, `é`, `\u00e9`, `\u00c9`, `e\u0301`, `😀`, `\ud83d\ude00`, `\ud83d`, `\ude00\ud83d`, `__proto__`, ``}
	values := []string{`1`, `-0`, `1e400`, `"me"`, `"victim"`, `"\u0076ictim"`, `null`, `true`, `[]`, `[1,"]",{}]`, `{}`, `"\ud800"`}
	rng := rand.New(rand.NewPCG(1, 2))
	var out []string
	for range n {
		out = append(out, randomObject(rng, keys, values, 0))
	}
	return out
}

func randomObject(rng *rand.Rand, keys, values []string, depth int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range rng.IntN(6) {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"` + keys[rng.IntN(len(keys))] + `":`)
		if depth < 2 && rng.IntN(4) == 0 {
			b.WriteString(randomObject(rng, keys, values, depth+1))
		} else {
			b.WriteString(values[rng.IntN(len(values))])
		}
	}
	b.WriteString("}")
	return b.String()
}

// TestParseMatchesJSONParse holds Parse to JSON.parse itself, run by node: on the differential
// seeds that are valid UTF-8 (a WebSocket text frame carries nothing else) and on thousands of
// objects of case-variant, escaped and repeated keys, the same inputs are objects, the same names
// are present and their values read the same. Sub-objects are read the same way (Sub is collect
// on a member's bytes), which TestParseMatchesExactReading checks against encoding/json.
func TestParseMatchesJSONParse(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.RequireOrSkip(t, "node is not installed (.ci/setup.d/node.sh installs it): JSON.parse is the reference")
		return
	}
	type checkCase struct {
		Input    string            `json:"input"` // base64: the bytes exactly
		Accepted bool              `json:"accepted"`
		Members  map[string]string `json:"members"`
	}
	var cases []checkCase
	for _, in := range append(append([]string{}, objectSeeds...), caseVariantObjects(5000)...) {
		if !utf8.ValidString(in) {
			continue
		}
		o, err := Parse([]byte(in), fuzzNames)
		c := checkCase{Input: base64.StdEncoding.EncodeToString([]byte(in)), Accepted: err == nil, Members: map[string]string{}}
		for _, name := range fuzzNames {
			if v, ok := o.Value(name); ok {
				c.Members[name] = string(v)
			}
		}
		cases = append(cases, c)
	}
	input, err := json.Marshal(map[string]any{"names": fuzzNames, "cases": cases})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "-e", jsonParseCheck)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if want := "checked " + strconv.Itoa(len(cases)); lines[len(lines)-1] != want {
		t.Errorf("node's last line %q, want %q", lines[len(lines)-1], want)
	}
	for _, l := range lines[:len(lines)-1] {
		t.Error(l)
	}
}
