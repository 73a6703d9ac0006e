package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

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
// flags that override them. An invalid configuration is a configError (exit status exitConfig),
// but a bad value given by a flag is a usageError (exitUsage), since the command line is wrong.
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
	// test-pattern's --leds gives every device's LED count (nil on the other commands).
	loaded, err := config.Load(config.Options{File: configFile, Flags: flags, LEDsFlag: cmd.Flags().Lookup("leds")})
	if err != nil {
		err = nameFlag(cmd, err, flags)
		var fe flagValueError
		if errors.As(err, &fe) {
			return nil, usageError{err}
		}
		return nil, configError{err}
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

// newLogger builds the process logger on w (stderr: journald under systemd). When w is
// journald's stream, each line starts with its syslog level so that journald records it as the
// entry's priority: otherwise every line is PRIORITY=6 and `journalctl -p warning` shows none of
// the warnings.
func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: level}
	build := func(w io.Writer) slog.Handler {
		if c.Format == "json" {
			return slog.NewJSONHandler(w, opts)
		}
		return slog.NewTextHandler(w, opts)
	}
	if f, ok := w.(*os.File); ok && isJournalStream(os.Getenv("JOURNAL_STREAM"), f) {
		return slog.New(newLevelPrefixHandler(w, build))
	}
	return slog.New(build(w))
}

// isJournalStream reports whether f is the stream systemd connected to journald, which it says
// in $JOURNAL_STREAM as "device:inode" (sd-daemon(3)). The variable alone is not enough: it is
// inherited by children whose stderr was redirected elsewhere (a shell started from the unit,
// `ledbridge ... 2>file`), and a file must not get journald's level prefixes.
func isJournalStream(env string, f *os.File) bool {
	dev, ino, ok := strings.Cut(env, ":")
	if !ok {
		return false
	}
	wantDev, err1 := strconv.ParseUint(dev, 10, 64)
	wantIno, err2 := strconv.ParseUint(ino, 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == wantDev && uint64(st.Ino) == wantIno
}

// levelPrefixHandler writes each record as its inner handler formats it, prefixed with the
// record's syslog level in the "<N>" form journald's stream protocol reads (and strips) when
// the unit's SyslogLevelPrefix= is on, as it is by default.
type levelPrefixHandler struct {
	inner slog.Handler // formats into line.buf
	line  *prefixedLine
}

// prefixedLine is the one line being written, shared by a handler and those derived from it by
// WithAttrs and WithGroup, so that a record's prefix and text reach the stream in one write.
type prefixedLine struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out io.Writer
}

func newLevelPrefixHandler(out io.Writer, build func(io.Writer) slog.Handler) *levelPrefixHandler {
	line := &prefixedLine{out: out}
	return &levelPrefixHandler{inner: build(&line.buf), line: line}
}

// syslogPrefix is the syslog priority of a slog level: err, warning, info, debug.
func syslogPrefix(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "<3>"
	case l >= slog.LevelWarn:
		return "<4>"
	case l >= slog.LevelInfo:
		return "<6>"
	default:
		return "<7>"
	}
}

func (h *levelPrefixHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *levelPrefixHandler) Handle(ctx context.Context, r slog.Record) error {
	h.line.mu.Lock()
	defer h.line.mu.Unlock()
	h.line.buf.Reset()
	h.line.buf.WriteString(syslogPrefix(r.Level))
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	_, err := h.line.out.Write(h.line.buf.Bytes())
	return err
}

func (h *levelPrefixHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &levelPrefixHandler{inner: h.inner.WithAttrs(attrs), line: h.line}
}

func (h *levelPrefixHandler) WithGroup(name string) slog.Handler {
	return &levelPrefixHandler{inner: h.inner.WithGroup(name), line: h.line}
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
