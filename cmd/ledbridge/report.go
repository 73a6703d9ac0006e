package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/ledbridge/ledbridge/bridge/printable"
	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled"
)

// summary is one row of `ledbridge discover`: what an operator needs to recognise a device.
type summary struct {
	Name     string `json:"name"`
	Host     string `json:"host"`
	IP       string `json:"ip"`
	HTTPPort int    `json:"http_port"`
	MAC      string `json:"mac"`
	LEDs     int    `json:"leds"`
	// DeviceLEDs is the device's own LED count when a forced output.protocol drives fewer (drgb
	// carries 490): the table shows "490 of 600", as the status page does.
	DeviceLEDs int    `json:"device_leds,omitempty"`
	RGBW       bool   `json:"rgbw"`
	Version    string `json:"version"`
	Protocol   string `json:"protocol"` // "ddp", "dnrgb", …; "" until confirmed
	StreamPort int    `json:"stream_port"`
	Live       bool   `json:"live"`      // a realtime stream drives the strip right now
	LiveMode   string `json:"live_mode"` // WLED's info.lm: "DDP", "UDP", "E1.31", … or ""
	Online     bool   `json:"online"`
	// Probed is false for a row nobody asked: `discover` lists a ddp://, dnrgb://, … line no
	// found device stands at as its URL gives it (such a strip may have no JSON API), so its
	// Online says nothing and the table shows "not probed". summarize's rows are probed.
	Probed   bool             `json:"probed"`
	Source   discovery.Source `json:"source"`
	LastSeen time.Time        `json:"last_seen,omitzero"`
	Error    string           `json:"error,omitempty"`
	// Look is the look join would give the strip when the configuration has strips: entries
	// ("strips[1]: pulse, reverse", or "global"); "" without entries (no LOOK column).
	Look string `json:"look,omitempty"`
}

// summarize turns a device into its report row.
func summarize(d discovery.Device) summary {
	s := summary{
		Name: d.Name, Host: d.Host, HTTPPort: d.HTTPPort, MAC: d.MAC, LEDs: d.LEDs, RGBW: d.RGBW,
		Version: d.Info.Version, StreamPort: d.StreamPort, Live: d.Info.Live, LiveMode: d.Info.LiveMode,
		Online: d.Online, Probed: true, Source: d.Source, LastSeen: d.LastSeen, Error: d.LastError,
	}
	if d.IP.IsValid() {
		s.IP = d.IP.String()
	}
	if d.Info.LEDs.Count > d.LEDs {
		s.DeviceLEDs = d.Info.LEDs.Count
	}
	switch d.Protocol {
	case wled.ProtocolUnknown, wled.ProtocolAuto:
	default:
		s.Protocol = d.Protocol.String()
	}
	return s
}

// summaries is summarize for each device, in order.
func summaries(devices []discovery.Device) []summary {
	rows := make([]summary, 0, len(devices))
	for _, d := range devices {
		rows = append(rows, summarize(d))
	}
	return rows
}

// writeJSON writes rows as one indented JSON array (an empty array when there are none).
func writeJSON(w io.Writer, rows []summary) error {
	if rows == nil {
		rows = []summary{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// writeTable writes rows as an aligned text table with a header line. A device that answered
// mDNS but not /json/info shows as offline with its error in the last column; a row that was
// not probed shows "not probed" as ONLINE and "-" as LIVE, since nothing was asked.
func writeTable(w io.Writer, rows []summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	showLook := slices.ContainsFunc(rows, func(s summary) bool { return s.Look != "" })
	if showLook {
		fmt.Fprintln(tw, "NAME\tHOST\tIP\tMAC\tLEDS\tRGBW\tVERSION\tPROTOCOL\tLIVE\tONLINE\tLOOK\tERROR")
	} else {
		fmt.Fprintln(tw, "NAME\tHOST\tIP\tMAC\tLEDS\tRGBW\tVERSION\tPROTOCOL\tLIVE\tONLINE\tERROR")
	}
	for _, s := range rows {
		live := "no"
		if s.Live {
			live = "yes"
			if s.LiveMode != "" {
				live += " (" + s.LiveMode + ")"
			}
		}
		proto := s.Protocol
		if proto != "" {
			proto += ":" + strconv.Itoa(s.StreamPort)
		}
		leds := ""
		if s.LEDs > 0 {
			leds = strconv.Itoa(s.LEDs)
		}
		if s.DeviceLEDs > s.LEDs {
			leds += " of " + strconv.Itoa(s.DeviceLEDs)
		}
		online := yesNo(s.Online)
		if !s.Probed {
			online, live = "not probed", ""
		}
		// Every cell that can come from the network goes through cell: a device name is whatever
		// the device (or anyone answering mDNS) says.
		if showLook {
			online += "\t" + cell(s.Look, maxNameCell)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			cell(s.Name, maxNameCell), cell(s.Host, maxNameCell), cell(s.IP, maxNameCell), cell(s.MAC, maxNameCell),
			dash(leds), yesNo(s.RGBW), cell(s.Version, maxNameCell), cell(proto, maxNameCell), cell(live, maxNameCell),
			online, cell(s.Error, maxErrorCell))
	}
	return tw.Flush()
}

// Widths, in runes, beyond which a table cell is cut (with "…"): a 32-character WLED name fits,
// a name or error text sent to fill the operator's screen does not.
const (
	maxNameCell  = 64
	maxErrorCell = 160
)

// cell is a table cell for a remote string: printable.Escape cut after limit runes, "-" when empty.
func cell(s string, limit int) string {
	if s == "" {
		return "-"
	}
	return printable.Escape(s, limit)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
