package main

import (
	"log/slog"
	"reflect"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/config"
)

// Every hub setting in the configuration reaches the room server: hubConfig maps the fields one
// by one, and a limit added to config.Hub and hub.Config but not to the mapping (as
// max_clients_per_room_per_address was at first) would validate, show in `config show`, and do
// nothing.
func TestHubConfigCarriesEverySetting(t *testing.T) {
	var c config.Hub
	cv := reflect.ValueOf(&c).Elem()
	for i := range cv.NumField() {
		f := cv.Field(i)
		switch f.Kind() {
		case reflect.Int:
			f.SetInt(int64(1000 + i))
		case reflect.String:
			f.SetString("value-" + cv.Type().Field(i).Name)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"example.org"}))
		default:
			t.Fatalf("config.Hub.%s: kind %v not covered by this test", cv.Type().Field(i).Name, f.Kind())
		}
	}
	got := reflect.ValueOf(hubConfig(c, slog.New(slog.DiscardHandler), nil))
	for i := range cv.NumField() {
		name := cv.Type().Field(i).Name
		switch name {
		case "Listen":
			name = "Addr"
		case "Metrics": // `ledbridge hub` serves /metrics itself; not a hub.Config field
			continue
		}
		g := got.FieldByName(name)
		if !g.IsValid() {
			t.Errorf("config.Hub.%s has no hub.Config field of that name", cv.Type().Field(i).Name)
			continue
		}
		want := cv.Field(i)
		if g.Kind() != want.Kind() && g.CanInt() && want.CanInt() {
			if g.Int() != want.Int() {
				t.Errorf("hub.Config.%s = %d, want %d from config.Hub", name, g.Int(), want.Int())
			}
			continue
		}
		if !reflect.DeepEqual(g.Interface(), want.Interface()) {
			t.Errorf("hub.Config.%s = %v, want %v from config.Hub", name, g.Interface(), want.Interface())
		}
	}
}
