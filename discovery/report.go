package discovery

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/ledbridge/ledbridge/wled"
)

// Summary is one row of `ledbridge discover`: what an operator needs to recognise a device.
type Summary struct {
	Name       string    `json:"name"`
	Host       string    `json:"host"`
	IP         string    `json:"ip"`
	HTTPPort   int       `json:"http_port"`
	MAC        string    `json:"mac"`
	LEDs       int       `json:"leds"`
	RGBW       bool      `json:"rgbw"`
	Version    string    `json:"version"`
	Protocol   string    `json:"protocol"` // "ddp", "dnrgb", …; "" until confirmed
	StreamPort int       `json:"stream_port"`
	Live       bool      `json:"live"`      // a realtime stream drives the strip right now
	LiveMode   string    `json:"live_mode"` // WLED's info.lm: "DDP", "UDP", "E1.31", … or ""
	Online     bool      `json:"online"`
	Source     Source    `json:"source"`
	LastSeen   time.Time `json:"last_seen,omitzero"`
	Error      string    `json:"error,omitempty"`
}

// Summarize turns a device into its report row.
func Summarize(d Device) Summary {
	s := Summary{
		Name: d.Name, Host: d.Host, HTTPPort: d.HTTPPort, MAC: d.MAC, LEDs: d.LEDs, RGBW: d.RGBW,
		Version: d.Info.Version, StreamPort: d.StreamPort, Live: d.Info.Live, LiveMode: d.Info.LiveMode,
		Online: d.Online, Source: d.Source, LastSeen: d.LastSeen, Error: d.LastError,
	}
	if d.IP.IsValid() {
		s.IP = d.IP.String()
	}
	switch d.Protocol {
	case wled.ProtocolUnknown, wled.ProtocolAuto:
	default:
		s.Protocol = d.Protocol.String()
	}
	return s
}

// WriteJSON writes devices as one indented JSON array (an empty array when there are none).
func WriteJSON(w io.Writer, devices []Device) error {
	rows := make([]Summary, 0, len(devices))
	for _, d := range devices {
		rows = append(rows, Summarize(d))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// WriteTable writes devices as an aligned text table with a header line. A device that
// answered mDNS but not /json/info shows as offline with its error in the last column.
func WriteTable(w io.Writer, devices []Device) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tHOST\tIP\tMAC\tLEDS\tRGBW\tVERSION\tPROTOCOL\tLIVE\tONLINE\tERROR")
	for _, d := range devices {
		s := Summarize(d)
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			dash(s.Name), dash(s.Host), dash(s.IP), dash(s.MAC), dash(leds), yesNo(s.RGBW), dash(s.Version),
			dash(proto), live, yesNo(s.Online), dash(s.Error))
	}
	return tw.Flush()
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
