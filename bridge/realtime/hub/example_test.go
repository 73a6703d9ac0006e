package hub_test

import (
	"context"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"

	"github.com/ledbridge/ledbridge/bridge/realtime/hub"
)

// Run the room server on its own port until interrupted. Musicians' pages then use
// createClient("http://<this machine>:4000", "<any key>") exactly as they would a Supabase project.
func ExampleServer_Run() {
	srv, err := hub.New(hub.Config{Addr: ":4000", MaxClientsPerRoom: 16})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := srv.Run(ctx); err != nil { // returns once every connection is closed
		log.Fatal(err)
	}
}

// Mount the room server next to other handlers (a status page) on an existing http.Server, and
// close its connections yourself when that server stops.
func ExampleServer_Handler() {
	srv, err := hub.New(hub.Config{Secret: os.Getenv("LEDBRIDGE_HUB_SECRET")})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/realtime/", srv.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	httpSrv := &http.Server{Handler: mux}
	go httpSrv.Serve(ln)
	// ... later, on shutdown:
	httpSrv.Close()
	srv.Close()
}
