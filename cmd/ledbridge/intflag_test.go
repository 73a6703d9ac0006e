package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// A whole number with a leading 0 on an integer flag is refused as a bad flag (exit 64, one line
// naming the flag and the decimal spelling), as config keys refuse it: pflag's IntVar parses with
// base 0, so `test-pattern --fps 060` ran at 48 fps and `--leds 010` drove 8 LEDs (review 318,
// finding 5).
func TestIntFlagLeadingZeroIsRefused(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--fps", "060"}, []string{`"--fps"`, "write 60, not 060: a leading 0 means octal (060 is 48)"}},
		{[]string{"--leds", "010"}, []string{`"--leds"`, "write 10, not 010", "(010 is 8)"}},
		{[]string{"--leds=-024"}, []string{`"--leds"`, "write -24, not -024"}},
		{[]string{"--fps", "08"}, []string{`"--fps"`, "write 8, not 08: a leading 0 means octal"}}, // no octal: was a bare strconv error
		{[]string{"--fps", "0_30"}, []string{`"--fps"`, "write 30, not 0_30"}},
	} {
		args := append([]string{"test-pattern", "--config", "/dev/null", "--device", "ddp://127.0.0.1:9?leds=10", "--seconds", "0.1"}, tc.args...)
		cmd := exec.Command(bin, args...)
		out, _ := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if cmd.ProcessState.ExitCode() != exitUsage || len(lines) != 1 {
			t.Errorf("%q: exit %d, output %q; want exit %d and one line", tc.args, cmd.ProcessState.ExitCode(), out, exitUsage)
			continue
		}
		for _, w := range append([]string{"test-pattern: invalid argument"}, tc.want...) {
			if !strings.Contains(lines[0], w) {
				t.Errorf("%q: %q does not mention %q", tc.args, lines[0], w)
			}
		}
	}
}

// The integer flag's value takes what pflag's IntVar took but a leading 0: 0, signs, and the
// explicit 0x, 0o and 0b prefixes, which say what they mean.
func TestIntFlagValue(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int
		bad  string // a part of the error, "" for none
	}{
		{"60", 60, ""}, {"0", 0, ""}, {"-1", -1, ""}, {"+7", 7, ""}, {"0x3c", 60, ""}, {"0o74", 60, ""}, {"0b11", 3, ""}, {"1_000", 1000, ""},
		{"060", 0, "write 60, not 060"}, {"00", 0, "write 0, not 00"}, {"+0100", 0, "write +100, not +0100"},
		{"abc", 0, "invalid syntax"}, {"6.5", 0, "invalid syntax"}, {"99999999999999999999", 0, "out of range"},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		var n int
		intFlagVar(fs, &n, "n", 5, "")
		err := fs.Parse([]string{"--n", tc.text})
		switch {
		case tc.bad == "" && (err != nil || n != tc.want):
			t.Errorf("--n %s: %d, %v; want %d", tc.text, n, err, tc.want)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("--n %s: %d, %v; want an error saying %q", tc.text, n, err, tc.bad)
		}
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	var n int
	intFlagVar(fs, &n, "n", 5, "")
	if f := fs.Lookup("n"); n != 5 || f.Value.Type() != "int" || f.DefValue != "5" {
		t.Errorf("default %d, type %q, DefValue %q; want 5, int, 5 (the help line pflag's IntVar gave)", n, f.Value.Type(), f.DefValue)
	}
	if got, err := fs.GetInt("n"); err != nil || got != 5 {
		t.Errorf("GetInt: %d, %v", got, err)
	}
}

// Every whole-number flag of every command uses intFlagVar, not pflag's IntVar (or Int8, Uint,
// …), which reads 060 as 48.
func TestNoIntFlagReadsOctal(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if _, ok := f.Value.(*intFlag); ok {
					return
				}
				switch f.Value.Type() {
				case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
					"intSlice", "int32Slice", "int64Slice", "uintSlice":
					t.Errorf("%s --%s is pflag's %s, which reads 060 as octal 48: use intFlagVar", c.CommandPath(), f.Name, f.Value.Type())
				}
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(rootCmd)
}
