package discovery_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ledbridge/ledbridge/discovery"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// Browse is what `ledbridge discover` runs: one mDNS round plus the configured devices, each
// confirmed by /json/info. Here mDNS is off and the device is a fake WLED on loopback.
func ExampleBrowse() {
	fake, err := wledtest.Start(wledtest.Config{Name: "bar", MAC: "02fc00abcdef", LEDs: 144, DDPListen: "-", RealtimeListen: "-"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fake.Close()

	devices, err := discovery.Browse(context.Background(), discovery.Config{
		DisableMDNS: true,
		Static:      []string{"wled://" + fake.HTTPAddr()},
	}, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range devices {
		fmt.Println(d.Name, d.MAC, d.LEDs, d.Protocol, d.StreamPort, d.Online)
	}
	// Output: bar 02fc00abcdef 144 ddp 4048 true
}

// A session runs a Registry for its whole life and adds or removes outputs on its events.
func ExampleRegistry() {
	fake, err := wledtest.Start(wledtest.Config{Name: "stage", MAC: "02fc00000042", LEDs: 300, DDPListen: "-", RealtimeListen: "-"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fake.Close()

	events := make(chan discovery.Event, 8)
	reg, err := discovery.New(discovery.Config{
		DisableMDNS: true, // a venue LAN would browse mDNS too
		Static:      []string{"wled://" + fake.HTTPAddr()},
		Interval:    30 * time.Second,
		OnChange:    func(ev discovery.Event) { events <- ev },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- reg.Run(ctx) }()

	ev := <-events
	target, ok := ev.Device.Target()
	fmt.Println(ev.Kind, ev.Device.Name, ok, target.Protocol, target.LEDs)

	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// added stage true ddp 300
	// Run returned <nil>
}
