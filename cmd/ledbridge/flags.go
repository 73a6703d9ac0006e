package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ledbridge/ledbridge/bridge/config"
)

var configFile string

func init() {
	rootCmd.PersistentFlags().StringVar(&configFile, "config", "", "config file (default /etc/ledbridge/config.yaml, then $XDG_CONFIG_HOME/ledbridge/config.yaml)")
	rootCmd.PersistentFlags().String("log-format", "", "log format: text or json (config log.format)")
	rootCmd.PersistentFlags().String("log-level", "", "log level: debug, info, warn, error (config log.level)")
}

// loadConfig reads the configuration for cmd. flagKeys maps config keys to the names of cmd's
// flags that override them. An invalid configuration is a usageError (exit status 2).
func loadConfig(cmd *cobra.Command, flagKeys map[string]string) (*config.Loaded, error) {
	flags := map[string]*pflag.Flag{
		"log.format": cmd.Flags().Lookup("log-format"),
		"log.level":  cmd.Flags().Lookup("log-level"),
	}
	for key, name := range flagKeys {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			return nil, fmt.Errorf("internal: flag --%s for %s is not defined on %s", name, key, cmd.Name())
		}
		flags[key] = f
	}
	loaded, err := config.Load(config.Options{File: configFile, Flags: flags})
	if err != nil {
		return nil, usageError{nameFlag(cmd, err, flags)}
	}
	return loaded, nil
}

// flagValueError is an invalid configuration value that came from a command-line flag.
type flagValueError struct {
	prefix string // "hub: ", as subcommandPrefix
	flag   string
	err    *config.Error
}

func (e flagValueError) Error() string {
	return fmt.Sprintf("%s--%s: %s", e.prefix, e.flag, e.err.Problem)
}
func (e flagValueError) Unwrap() error { return e.err }

// nameFlag reports an error about a key a flag set under that flag: `hub --addr :99999` must say
// --addr, which the operator typed, not hub.listen, which is on no command line and perhaps in
// no file. A set flag wins over the file and the environment, so the bad value is the flag's.
func nameFlag(cmd *cobra.Command, err error, flags map[string]*pflag.Flag) error {
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key == "" {
		return err
	}
	for key, f := range flags {
		if f == nil || !f.Changed {
			continue
		}
		// A list key's items are reported as devices[1]; a section's as effects.attack_ms.
		if ce.Key == key || strings.HasPrefix(ce.Key, key+"[") || strings.HasPrefix(ce.Key, key+".") {
			return flagValueError{prefix: subcommandPrefix(cmd), flag: f.Name, err: ce}
		}
	}
	return err
}

// newLogger builds the process logger on w (stderr: journald under systemd).
func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// setupLogging loads nothing; it installs the configured logger as slog's default and logs the
// configuration's warnings.
func setupLogging(loaded *config.Loaded) *slog.Logger {
	log := newLogger(os.Stderr, loaded.Log)
	slog.SetDefault(log)
	if loaded.File != "" {
		log.Debug("configuration read", "file", loaded.File)
	}
	for _, w := range loaded.Warnings {
		log.Warn(w)
	}
	return log
}
