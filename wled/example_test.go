package wled_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

func ExampleParseTarget() {
	for _, s := range []string{"wled-abcdef.local", "ddp://10.0.0.5?leds=300&rgbw=1", "dnrgb://10.0.0.6:21324?leds=1000"} {
		t, err := wled.ParseTarget(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-8v %s udp=%d http=%d leds=%d rgbw=%v\n", t.Protocol, t.Host, t.Port, t.HTTPPort, t.LEDs, t.RGBW)
	}
	_, err := wled.ParseTarget("warls://10.0.0.7?leds=300")
	fmt.Println(err)
	// Output:
	// wled     wled-abcdef.local udp=0 http=80 leds=0 rgbw=false
	// ddp      10.0.0.5 udp=4048 http=0 leds=300 rgbw=true
	// dnrgb    10.0.0.6 udp=21324 http=0 leds=1000 rgbw=false
	// wled: bad device URL "warls://10.0.0.7?leds=300": ?leds="300": want a whole number 1..255 for warls
}

// ExampleOutput resolves a wled:// device over its JSON API, runs its Output, submits a frame
// and stops, which hands the device back with {"live":false}.
func ExampleOutput() {
	fake, err := wledtest.Start(wledtest.Config{LEDs: 3})
	if err != nil {
		panic(err)
	}
	defer fake.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var client wled.Client
	target, _ := wled.ParseTarget(fake.URL())
	target, info, err := client.Complete(ctx, target)
	if err != nil {
		panic(err)
	}
	out, err := wled.NewOutput(wled.OutputConfig{Target: target, Name: info.Name})
	if err != nil {
		panic(err)
	}
	done := make(chan error)
	go func() { done <- out.Run(ctx) }()

	out.Submit([]byte{255, 0, 0, 0, 255, 0, 0, 0, 255}) // red, green, blue
	frames, err := fake.WaitFrames(1, 5*time.Second)
	if err != nil {
		panic(err)
	}
	cancel()
	<-done
	fmt.Printf("%s via %v: % x\n", out.Name(), target.Protocol, frames[0].Pixels)
	fmt.Println("released:", *fake.StateRequests()[0].Live == false)
	// Output:
	// wledtest via ddp: ff 00 00 00 ff 00 00 00 ff
	// released: true
}
