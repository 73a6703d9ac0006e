package wire_test

import (
	"fmt"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// A server fans a client's binary broadcast (kind 3) out to vsn 2.0.0 subscribers as kind 4.
func ExampleDecodeBinary() {
	push := []byte("\x03\x01\x01\x0f\x0c\x00\x01" + "69" + "realtime:ABC123" + "tempo-change" + `{"tempo":128}`)
	var b wire.UserBroadcast
	if err := wire.DecodeBinary(push, &b); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Kind, b.JoinRef, b.Ref, b.Topic, b.Event, b.Encoding, string(b.Payload))
	b.Kind = wire.KindUserBroadcast
	out, _ := wire.AppendBinary(nil, &b)
	fmt.Printf("%x\n", out[:5])
	// Output:
	// user_broadcast_push(3) 6 9 realtime:ABC123 tempo-change json(1) {"tempo":128}
	// 040f0c0001
}

// Text frames: vsn 2.0.0 arrays and vsn 1.0.0 objects carry the same Message.
func ExampleVersion_AppendText() {
	m := wire.Message{Ref: wire.RefOf("11"), Topic: "phoenix", Event: "heartbeat"}
	for _, v := range []wire.Version{wire.V2, wire.V1} {
		out, _ := v.AppendText(nil, &m)
		fmt.Println(v, string(out))
	}
	// Output:
	// 2.0.0 [null,"11","phoenix","heartbeat",{}]
	// 1.0.0 {"topic":"phoenix","event":"heartbeat","payload":{},"ref":"11"}
}
