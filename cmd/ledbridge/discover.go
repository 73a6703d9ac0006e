package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledbridge/ledbridge/discovery"
)

func init() {
	var (
		timeout    time.Duration
		asJSON     bool
		interfaces []string
		devices    []string
	)
	cmd := &cobra.Command{
		Use:   "discover",
		Short: "List the WLED controllers on the LAN (mDNS _wled._tcp plus configured devices)",
		Long: `Browses mDNS for _wled._tcp for --timeout, adds the devices from the configuration's
"devices" list and --device, asks each for GET /json/info, and prints one row per device:
name, host, IP, MAC, LED count, RGBW, firmware version, the protocol ledbridge would use,
whether a realtime stream drives it now, and whether it answered. A device that answered mDNS
but not /json/info is listed offline with the error. Exit status 1 when mDNS browsing failed,
130 when interrupted (Ctrl-C) before the browse ended.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout <= 0 || timeout > time.Minute {
				return usageError{fmt.Errorf("discover: --timeout %v: want more than 0 and at most 1m", timeout)}
			}
			loaded, err := loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			log := newLogger(cmd.ErrOrStderr(), loaded.Log)
			for _, w := range loaded.Warnings {
				log.Warn(w)
			}
			cfg := discovery.Config{
				Interfaces:  loaded.Discovery.Interfaces,
				DisableMDNS: !loaded.Discovery.Enabled,
				Static:      append(append([]string(nil), loaded.Devices...), devices...),
				Protocol:    loaded.Output.Protocol,
				Logger:      log,
			}
			if cmd.Flags().Changed("interface") {
				cfg.Interfaces = interfaces
			}
			found, browseErr := discovery.Browse(cmd.Context(), cfg, timeout)
			if cmd.Context().Err() != nil {
				// Ctrl-C: discovery.Browse probes the devices only once its window has passed,
				// and returns none when stopped before; say so instead of "context canceled".
				return interruptedError{"discover: stopped before the mDNS browse ended, so no device was asked for /json/info yet (a shorter --timeout ends it sooner)"}
			}
			if browseErr != nil && found == nil {
				if errors.Is(browseErr, discovery.ErrBadStatic) {
					return usageError{browseErr}
				}
				return browseErr
			}
			if asJSON {
				err = discovery.WriteJSON(cmd.OutOrStdout(), found)
			} else {
				err = discovery.WriteTable(cmd.OutOrStdout(), found)
			}
			if err != nil {
				return err
			}
			if browseErr != nil {
				return fmt.Errorf("discover: %w", browseErr)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to listen for mDNS answers")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
	cmd.Flags().StringSliceVar(&interfaces, "interface", nil, "browse only on these interfaces (default: config discovery.interfaces, else all)")
	cmd.Flags().StringArrayVar(&devices, "device", nil, "also probe this device URL (repeatable), e.g. wled://10.0.0.5")
	rootCmd.AddCommand(cmd)
}
