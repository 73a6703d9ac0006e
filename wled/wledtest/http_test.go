package wledtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestHTTPInfoAndState(t *testing.T) {
	f := New(t, Config{LEDs: 60, RGBW: true, Name: "stage"})
	resp, err := http.Get("http://" + f.HTTPAddr() + "/json/info")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("info is not JSON: %v: %s", err, body)
	}
	leds, _ := got["leds"].(map[string]any)
	if got["name"] != "stage" || got["ver"] == "" || leds["count"] != float64(60) || leds["rgbw"] != true {
		t.Errorf("info = %s", body)
	}
	if mac, _ := got["mac"].(string); len(mac) != 12 {
		t.Errorf("mac %q is not 12 hex digits", mac)
	}

	resp, err = http.Post("http://"+f.HTTPAddr()+"/json/state", "application/json", strings.NewReader(`{"live":false,"tt":0}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Post("http://"+f.HTTPAddr()+"/json/state", "application/json", strings.NewReader(`<html>`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("garbage state POST: status %d, want 400", resp.StatusCode)
	}
	reqs := f.StateRequests()
	if len(reqs) != 1 || reqs[0].Live == nil || *reqs[0].Live {
		t.Errorf("state requests = %+v", reqs)
	}
}

func TestDistinctMACs(t *testing.T) {
	a, b := New(t, Config{}), New(t, Config{})
	if a.Info().MAC == b.Info().MAC {
		t.Errorf("two fakes share MAC %s", a.Info().MAC)
	}
}
