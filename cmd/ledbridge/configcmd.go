package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/room"
)

func init() {
	cfgCmd := &cobra.Command{Use: "config", Short: "Check or show the configuration"}
	cfgCmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration (if invalid: one line naming the key, exit status 78); print the warnings join would log",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			src := loaded.File
			if src == "" {
				src = "defaults (no config file found)"
			}
			for _, w := range loaded.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			if loaded.Room.Code == "" {
				// Valid for hub, discover and test-pattern, but the unit's join has no CODE argument.
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: room.code is not set: join needs it (or a CODE argument: ledbridge join JAM234)")
			}
			if err := joinStartUpWarnings(loaded.Config, slog.New(warningLines{cmd.ErrOrStderr()})); err != nil {
				return configError{err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "config ok: %s\n", src)
			return nil
		},
	})
	cfgCmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration as YAML, secrets redacted",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			loaded, err := loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			c := config.Redacted(loaded.Config)
			out, err := yaml.Marshal(c.Map())
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	})
	rootCmd.AddCommand(cfgCmd)
}

// joinStartUpWarnings logs on log what join warns of at start-up about c alone, by join's own
// code: no strip will light (noStripsWarning), and the peer manager's check of the WebRTC
// settings against this machine's interfaces (webrtc.interfaces matching none, a UDP port range
// too narrow for webrtc.max_peers), and supabase.access_token expired or expiring soon. It
// returns the error join's start-up would stop with.
func joinStartUpWarnings(c config.Config, log *slog.Logger) error {
	sc, err := sessionConfig(c, "", "", true, log, nil)
	if err != nil {
		return err
	}
	if w := noStripsWarning(sc); w != "" {
		log.Warn(w)
	}
	if c.Supabase.URL != "" { // as join watches it
		(&accessTokenWatch{log: log, now: time.Now}).set(c.Supabase.AccessToken)
	}
	pc := sc.Peer // as session.New completes it; NewManager starts nothing
	pc.SelfID = "config-check"
	pc.SendSignal = func(context.Context, room.Signal) error { return nil }
	pc.Logger = log
	_, err = peer.NewManager(pc)
	return err
}

// warningLines is a slog.Handler that prints each warning as config check prints its own:
// "warning: MESSAGE (key=value, …)", the record's attributes in brackets.
type warningLines struct{ w io.Writer }

func (h warningLines) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h warningLines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("warning: " + r.Message)
	sep := " ("
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, "%s%s=%v", sep, a.Key, a.Value)
		sep = ", "
		return true
	})
	if sep == ", " {
		b.WriteString(")")
	}
	b.WriteString("\n")
	_, err := io.WriteString(h.w, b.String())
	return err
}

// WithAttrs and WithGroup drop the logger's context (which part logs): the line is the operator's.
func (h warningLines) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h warningLines) WithGroup(string) slog.Handler      { return h }
