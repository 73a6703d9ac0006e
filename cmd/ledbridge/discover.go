package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
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
but not /json/info is listed offline with the error. A ddp://, dnrgb://, drgb:// or drgbw://
device has no JSON API ledbridge asks for: it is listed as its URL gives it (protocol, host,
port, LED count), "not probed". Exit status 1 when mDNS browsing failed, 130 when interrupted
(Ctrl-C) before the browse ended.`,
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
			probed, unprobed := splitForcedDevices(append(append([]string(nil), loaded.Devices...), devices...))
			cfg := discovery.Config{
				Interfaces:  loaded.Discovery.Interfaces,
				DisableMDNS: !loaded.Discovery.Enabled,
				Static:      probed,
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
			rows := make([]discoverRow, 0, len(found)+len(unprobed))
			for _, d := range found {
				rows = append(rows, discoverRow{Summary: discovery.Summarize(d), Probed: true})
			}
			rows = append(rows, unprobed...)
			if asJSON {
				err = writeDiscoverJSON(cmd.OutOrStdout(), rows)
			} else {
				err = writeDiscoverTable(cmd.OutOrStdout(), rows)
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

// discoverRow is one device `discover` prints. Probed is false for a device listed only as its
// URL gives it (splitForcedDevices): nothing was asked, so its Online says nothing.
type discoverRow struct {
	discovery.Summary
	Probed bool `json:"probed"`
}

// splitForcedDevices separates the device URLs discovery probes (wled:// and bare hosts, whose
// JSON API gives name, LED count and protocol) from those that fix the protocol (ddp://,
// dnrgb://, …). The README's device table promises that no JSON API is asked for the latter: a
// plain DDP or E1.31 controller has none, and a probe of port 80 would only list it as
// offline. They are returned as rows of what the URL says. A URL that does not parse stays
// with the probed ones, so that discovery refuses it as before (ErrBadStatic: exit status 2).
func splitForcedDevices(urls []string) (probed []string, unprobed []discoverRow) {
	seen := map[string]bool{}
	for _, raw := range urls {
		t, err := wled.ParseTarget(strings.TrimSpace(raw))
		if err != nil || t.Protocol == wled.ProtocolAuto {
			probed = append(probed, raw)
			continue
		}
		if seen[raw] {
			continue
		}
		seen[raw] = true
		s := discovery.Summary{Host: t.Host, LEDs: t.LEDs, RGBW: t.RGBW, Protocol: t.Protocol.String(),
			StreamPort: t.Port, Source: discovery.SourceStatic}
		if ip, err := netip.ParseAddr(t.Host); err == nil {
			s.IP = ip.String()
		}
		unprobed = append(unprobed, discoverRow{Summary: s})
	}
	return probed, unprobed
}

// writeDiscoverJSON writes rows as one indented JSON array (an empty array when there are none).
func writeDiscoverJSON(w io.Writer, rows []discoverRow) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// Widths, in runes, beyond which a table cell is cut (discovery.WriteTable's): a 32-character
// WLED name fits, a name or error text sent to fill the operator's screen does not.
const (
	maxNameCell  = 64
	maxErrorCell = 160
)

// writeDiscoverTable writes rows as discovery.WriteTable does, with "not probed" in ONLINE for
// a device that was not asked.
func writeDiscoverTable(w io.Writer, rows []discoverRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tHOST\tIP\tMAC\tLEDS\tRGBW\tVERSION\tPROTOCOL\tLIVE\tONLINE\tERROR")
	for _, r := range rows {
		live := "no"
		if r.Live {
			live = "yes"
			if r.LiveMode != "" {
				live += " (" + r.LiveMode + ")"
			}
		}
		proto := r.Protocol
		if proto != "" {
			proto += ":" + strconv.Itoa(r.StreamPort)
		}
		leds := ""
		if r.LEDs > 0 {
			leds = strconv.Itoa(r.LEDs)
		}
		online := yesNo(r.Online)
		if !r.Probed {
			online, live = "not probed", "-"
		}
		// Every cell that can come from the network goes through tableCell: a device name is
		// whatever the device (or anyone answering mDNS) says.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			tableCell(r.Name, maxNameCell), tableCell(r.Host, maxNameCell), tableCell(r.IP, maxNameCell), tableCell(r.MAC, maxNameCell),
			tableCell(leds, maxNameCell), yesNo(r.RGBW), tableCell(r.Version, maxNameCell), tableCell(proto, maxNameCell), tableCell(live, maxNameCell),
			online, tableCell(r.Error, maxErrorCell))
	}
	return tw.Flush()
}

// tableCell is a table cell for a remote string: printable, cut after limit runes, "-" when empty.
func tableCell(s string, limit int) string {
	if s == "" {
		return "-"
	}
	return discovery.PrintableText(s, limit)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
