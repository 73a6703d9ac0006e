package realtime_test

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/ledbridge/ledbridge/bridge/realtime"
)

// A daemon joins room JAM234 on a Supabase project, tracks its Presence, asks for the room state
// and handles broadcasts until interrupted.
func ExampleClient() {
	c, err := realtime.New(realtime.Config{
		URL:         "https://abcdefgh.supabase.co",
		APIKey:      os.Getenv("SUPABASE_ANON_KEY"),
		Channel:     "JAM234",
		PresenceKey: "ledbridge-7f3a",
		OnStatus:    func(s realtime.Status) { log.Printf("room: %v", s) },
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// Tracked as soon as the channel is joined, and again after every rejoin.
	_ = c.Track(ctx, map[string]any{"name": "Stage LEDs", "isHost": false, "role": "led-bridge", "receiveOnly": true})
	go func() {
		for ev := range c.Events() { // closed when Run returns
			switch ev.Kind {
			case realtime.EventBroadcast:
				log.Printf("%s: %s", ev.Event, ev.Payload)
			case realtime.EventPresenceSync:
				log.Printf("%d participants", len(c.Presence()))
			}
		}
	}()
	if err := c.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
