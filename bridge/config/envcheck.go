package config

import (
	"fmt"
	"slices"
	"strings"
)

// OtherEnv are the LEDBRIDGE_* variables that are read outside the configuration, so that the
// check for misspelled settings leaves them alone. A new one must be added here (TestOtherEnvIsComplete
// finds the names in the repository's Go files).
var OtherEnv = []string{
	"LEDBRIDGE_TIMER_SLACK",      // cmd/ledbridge: the process's timer slack (README, "Run it at a venue")
	"LEDBRIDGE_REQUIRE_ALL",      // tests: fail instead of skipping for a missing tool (.ci/run sets it)
	"LEDBRIDGE_ARTIFACTS",        // tests: where the browser tests keep screenshots
	"LEDBRIDGE_TEST_LOG",         // tests: the end-to-end tests' log
	"LEDBRIDGE_DISCOVERY_HELPER", // tests: the discovery tests' helper process
	"LEDBRIDGE_TEST_IN_NETNS",    // tests: marks a test's run in a network namespace of its own (bridge/testenv)
	"LEDBRIDGE_TEST_PANIC",       // tests: makes the test binary panic, to see Go's crash status (cmd/ledbridge)
	"LEDBRIDGE_TEST_SLACK_CHILD", // tests: the timer-slack test's run without cgo (cmd/ledbridge)
	"LEDBRIDGE_HUB_LATENCY",      // measurements: the hub's latency run
	"LEDBRIDGE_GATE",             // measurements: docs/experiments/tick-gated-reads.patch
	"LEDBRIDGE_NONACK",           // measurements: the same patch
}

// OtherEnvPrefixes start families of such variables: LEDBRIDGE_MEASURE_* selects measurements.
var OtherEnvPrefixes = []string{"LEDBRIDGE_MEASURE_"}

// unknownEnvWarnings returns one warning for each LEDBRIDGE_* variable in environ (NAME=value
// entries) that is neither a setting nor in OtherEnv, naming the closest setting.
//
// A warning rather than an error: the unit's EnvironmentFile (/etc/ledbridge/env) may be shared
// with other tools or outlive a version that knew a variable, and a daemon that refused to start
// over a variable it does not use would take the venue's lights down for nothing. The warning is
// in the journal at every start, and `ledbridge config check` prints it.
func unknownEnvWarnings(environ []string) []string {
	known := map[string]string{} // variable name → key
	for key := range flatten(Default()) {
		known[EnvName(key)] = key
	}
	var names []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(strings.ToUpper(name), EnvPrefix+"_") || known[name] != "" || isOtherEnv(name) {
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	warnings := make([]string, 0, len(names))
	for _, name := range names {
		warnings = append(warnings, unknownEnvWarning(name, known))
	}
	return warnings
}

func isOtherEnv(name string) bool {
	if slices.Contains(OtherEnv, name) {
		return true
	}
	for _, p := range OtherEnvPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// unknownEnvWarning names the variable, says it is ignored, and names the setting closest to it.
func unknownEnvWarning(name string, known map[string]string) string {
	upper := strings.ToUpper(name)
	if key, ok := known[upper]; ok {
		return fmt.Sprintf("environment variable %s is ignored: names are case-sensitive, did you mean %s (%s)?", name, upper, key)
	}
	best, bestD := "", -1
	for env := range known {
		if d := editDistance(upper, env); bestD < 0 || d < bestD || d == bestD && env < best {
			best, bestD = env, d
		}
	}
	if bestD <= 3 {
		return fmt.Sprintf("environment variable %s is not a ledbridge setting and is ignored: did you mean %s (%s)?", name, best, known[best])
	}
	return fmt.Sprintf("environment variable %s is not a ledbridge setting and is ignored; the closest is %s (%s), and configs/ledbridge.example.yaml lists them all", name, best, known[best])
}
