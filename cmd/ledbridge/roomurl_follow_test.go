package main

import (
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/config"
	"github.com/ledbridge/ledbridge/bridge/room"
	"github.com/ledbridge/ledbridge/bridge/session"
)

// TestStatusRoomURLFollowsItsSource: a LAN-hosted room's URL is not fixed at start-up. A Pi that
// booted before DHCP had only loopback; once the lease comes, the status page shows the new URL.
func TestStatusRoomURLFollowsItsSource(t *testing.T) {
	c := config.Default()
	code, _ := room.ParseCode("LAN234")
	sc, err := sessionConfig(c, code, "test", false, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[string]
	boot := "http://127.0.0.1:4111"
	current.Store(&boot)
	sc.Realtime.URL, sc.Realtime.APIKey = "http://127.0.0.1:4111", "ledbridge" // never dialled: the session is not run
	sc.HostedBy = "lan"
	sc.RoomURL = boot
	sc.CurrentRoomURL = func() string { return *current.Load() }
	sess, err := session.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	if got := sess.Snapshot().Room.URL; got != boot {
		t.Fatalf("the status page's room URL at boot: %q, want %q", got, boot)
	}
	leased := "http://192.168.77.2:4111"
	current.Store(&leased)
	if got := sess.Snapshot().Room.URL; got != leased {
		t.Errorf("the status page's room URL after the DHCP lease: %q, want %q", got, leased)
	}
}
