package main

import (
	"errors"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/ledbridge/ledbridge/bridge/config"
)

// intFlag is the value of a whole-number flag. It parses as pflag's IntVar does (base 0: 60,
// -1, 0x3c, 0o74, 0b11, 1_000), but refuses a whole number written with a leading 0, which base 0
// reads as octal (`--fps 060` ran at 48 fps, `--leds 010` drove 8 LEDs): the same rule and line as
// a config key's ("write 60, not 060: a leading 0 means octal (060 is 48)"). pflag reports the
// error as an invalid argument for the flag, which markUsageErrors makes a usage error (exit
// status exitUsage).
type intFlag int

// intFlagVar defines on fs the whole-number flag name, stored in p, in place of fs.IntVar.
func intFlagVar(fs *pflag.FlagSet, p *int, name string, value int, usage string) {
	*p = value
	fs.Var((*intFlag)(p), name, usage)
}

func (f *intFlag) Set(s string) error {
	if problem := config.LeadingZeroProblem(s); problem != "" {
		return errors.New(problem)
	}
	n, err := strconv.ParseInt(s, 0, strconv.IntSize)
	if err != nil {
		return err
	}
	*f = intFlag(n)
	return nil
}

// Type is pflag's name for an int flag, which the help shows (--fps int) and GetInt checks.
func (f *intFlag) Type() string { return "int" }

func (f *intFlag) String() string { return strconv.Itoa(int(*f)) }
