package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledbridge/ledbridge/analysis/effect"
	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/bridge/session"
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
but not /json/info is listed offline with the error. A ddp://, dnrgb://, drgb://, drgbw:// or
warls:// device has no JSON API ledbridge asks for: it is listed with its URL's protocol, port and LED
count, and with the name, MAC and state of the device mDNS found at its address (one row, as
join drives it), else "not probed". Exit status 1 when mDNS browsing failed, 130 when interrupted
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
			cfg := discovery.Config{
				Interfaces:  loaded.Discovery.Interfaces,
				DisableMDNS: !loaded.Discovery.Enabled,
				Protocol:    loaded.Output.Protocol,
				Logger:      log,
			}
			if cmd.Flags().Changed("interface") {
				cfg.Interfaces = interfaces
			}
			rows, lines, browseErr := listDevices(cmd.Context(), cfg, append(append([]string(nil), loaded.Devices...), devices...), timeout)
			if cmd.Context().Err() != nil {
				// Ctrl-C: discovery.Browse probes the devices only once its window has passed,
				// and returns none when stopped before; say so instead of "context canceled".
				return interruptedError{"discover: stopped before the mDNS browse ended, so no device was asked for /json/info yet (a shorter --timeout ends it sooner)"}
			}
			if browseErr != nil && rows == nil {
				if errors.Is(browseErr, discovery.ErrBadStatic) {
					return usageError{browseErr}
				}
				return browseErr
			}
			for _, i := range markLooks(rows, lines, loaded.Strips) {
				log.Warn("strips: entry matches no device listed here (join applies it when one appears)", "entry", i, "device", loaded.Strips[i].Device)
			}
			if asJSON {
				err = writeJSON(cmd.OutOrStdout(), rows)
			} else {
				err = writeTable(cmd.OutOrStdout(), rows)
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

// listDevices runs discover's one round over urls (the configured devices and --device): the
// lines that fix a protocol are set aside (splitForcedDevices), discovery browses mDNS and
// probes the rest, and each set-aside line is folded into the device found at its address
// (foldForced). lines[i] is the configured line rows[i] stands for ("" for a device mDNS alone
// found), which a strips: entry may name it by (markLooks). rows is nil, with the error, when
// nothing could be listed (a bad URL, an interrupted browse); otherwise err is a browse error and
// rows are what could still be listed.
func listDevices(ctx context.Context, cfg discovery.Config, urls []string, timeout time.Duration) (rows []summary, lines []string, err error) {
	probed, forced, forcedLines := splitForcedDevices(urls)
	cfg.Static = probed
	found, err := discovery.Browse(ctx, cfg, timeout)
	if found == nil {
		return nil, nil, err
	}
	foundLines := make([]string, len(found))
	for i, d := range found {
		foundLines[i] = d.Static
	}
	rows, lines = foldForced(summaries(found), foundLines, forced, forcedLines)
	return rows, lines, err
}

// splitForcedDevices separates the device URLs discovery probes (wled:// and bare hosts, whose
// JSON API gives name, LED count and protocol) from those that fix the protocol (ddp://,
// dnrgb://, …). The README's device table promises that no JSON API is asked for the latter: a
// plain DDP or E1.31 controller has none, and a probe of port 80 would only list it as
// offline. They are returned as rows of what the URL says, not probed, with their lines
// (forcedLines, in the same order). A URL that does not parse stays with the probed ones, so
// that discovery refuses it as before (ErrBadStatic: a usage error, exit status 64).
func splitForcedDevices(urls []string) (probed []string, forced []summary, forcedLines []string) {
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
		s := summary{Host: t.Host, LEDs: t.LEDs, RGBW: t.RGBW, Protocol: t.Protocol.String(),
			StreamPort: t.Port, Source: discovery.SourceStatic}
		if ip, err := netip.ParseAddr(t.Host); err == nil {
			s.IP = ip.Unmap().String()
		}
		forced = append(forced, s)
		forcedLines = append(forcedLines, raw)
	}
	return probed, forced, forcedLines
}

// foldForced lists each forced-protocol line at the device found at its address, as join drives
// it: join's configured strip stands for the discovered device at its host (README: "driven and
// listed once, as its configured line says"), so the row keeps the line's protocol, port, LED
// count and RGBW, and takes the found device's name, host, MAC, version and online state, which
// its mDNS answer and /json/info gave. A device found by mDNS alone is then not listed again on
// its own; one that is itself a configured wled:// line keeps its row, since join drives that
// line too. A line no found device stands at stays "not probed", after the found devices.
// foundLines and forcedLines are the configured lines of found and forced (foundLines[i] "" for
// a device mDNS alone found); lines are those of rows.
func foldForced(found []summary, foundLines []string, forced []summary, forcedLines []string) (rows []summary, lines []string) {
	rows = make([]summary, 0, len(found)+len(forced))
	lines = make([]string, 0, cap(rows))
	folded := make([]bool, len(forced))
	for j, d := range found {
		drivenByLine := false
		for i, f := range forced {
			if !sameAddress(f, d) {
				continue
			}
			row := d
			row.Protocol, row.StreamPort, row.LEDs, row.RGBW = f.Protocol, f.StreamPort, f.LEDs, f.RGBW
			if d.Source == discovery.SourceMDNS {
				row.Source = discovery.SourceBoth // the line configures what mDNS found
			}
			rows, lines = append(rows, row), append(lines, forcedLines[i])
			folded[i], drivenByLine = true, true
		}
		if !drivenByLine || d.Source != discovery.SourceMDNS {
			rows, lines = append(rows, d), append(lines, foundLines[j])
		}
	}
	for i, f := range forced {
		if !folded[i] {
			rows, lines = append(rows, f), append(lines, forcedLines[i])
		}
	}
	return rows, lines
}

// sameAddress reports whether forced line f names found device d: its host is d's IP or d's
// mDNS host name (wled-a.local) by wled.SameHost, the rule join's device set goes by. A WLED
// has one address (discovery lists one per IP), so the address names the device.
func sameAddress(f, d summary) bool {
	return wled.SameHost(f.Host, d.IP) || wled.SameHost(f.Host, d.Host)
}

// markLooks sets each row's Look to the look join would give the device: the first strips:
// entry that names it (by join's rule, session.DeviceNames.NamedBy, with rowNames), else
// "global". lines[i] is the configured line rows[i] stands for ("" for none; lines may be nil).
// It returns the entries no row matches. Without entries it sets nothing (discover shows no LOOK
// column).
func markLooks(rows []summary, lines []string, strips []config.Strip) (unmatched []int) {
	if len(strips) == 0 {
		return nil
	}
	// Each entry as join takes it (session.StripLookFor picks the first that names a row), and
	// its words for the LOOK column, in effect.DescribeLook's words (the status page's).
	looks := make([]session.StripLook, len(strips))
	words := make([]string, len(strips))
	for i, s := range strips {
		look, own, err := s.Look()
		if err != nil { // Load validated every entry: not reached
			words[i] = fmt.Sprintf("strips[%d]: %v", i, err)
		} else {
			words[i] = effect.DescribeLook(i, look, own)
		}
		looks[i] = session.StripLook{Device: s.Device, Look: look, OwnMaxMilliamps: own}
	}
	used := make([]bool, len(strips))
	var configured []string
	for _, l := range lines {
		if l != "" {
			configured = append(configured, l)
		}
	}
	for r := range rows {
		row := &rows[r]
		row.Look = effect.GlobalLook
		line := ""
		if r < len(lines) {
			line = lines[r]
		}
		names := rowNames(row, line)
		names.ConfiguredLines = configured
		if i := session.StripLookFor(looks, names); i >= 0 {
			row.Look, used[i] = words[i], true
		}
	}
	for i, u := range used {
		if !u {
			unmatched = append(unmatched, i)
		}
	}
	return unmatched
}

// rowNames is what a strips: entry may name row's device by, as join names the strip it drives
// (session.DeviceNames): a device mDNS alone found by its name, IP and mDNS host; a configured
// line by the line, its host, its address, and the name and mDNS host of the device found there
// (the row's, which discover lists the line under).
func rowNames(row *summary, line string) session.DeviceNames {
	n := session.DeviceNames{Name: row.Name, IP: row.IP, Host: row.Host}
	if line == "" {
		return n
	}
	n.Line, n.FoundName, n.FoundHost = line, row.Name, row.Host
	if t, err := wled.ParseTarget(strings.TrimSpace(line)); err == nil {
		n.Host = t.Host
	}
	return n
}
