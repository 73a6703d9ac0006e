package main

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestREADMEDocumentsEveryCommandAndFlag: what `ledbridge --help` lists, an operator finds in the
// README: every command as "ledbridge COMMAND" and every flag as "--flag".
func TestREADMEDocumentsEveryCommandAndFlag(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasParent() && !strings.Contains(readme, c.CommandPath()) {
			t.Errorf("the README never mentions %q", c.CommandPath())
		}
		check := func(f *pflag.Flag) {
			if f.Name != "help" && !f.Hidden && !strings.Contains(readme, "--"+f.Name) {
				t.Errorf("the README never mentions %s --%s", c.CommandPath(), f.Name)
			}
		}
		c.LocalFlags().VisitAll(check)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && sub.Name() != "help" {
				walk(sub)
			}
		}
	}
	walk(rootCmd)
}
