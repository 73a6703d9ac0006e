//go:build !linux

package status

import "syscall"

// sendQueue is not read outside Linux (SIOCOUTQ is Linux's): previews are never skipped for it,
// and the capped send buffer alone bounds what waits.
type sendQueue struct{}

func newSendQueue(syscall.Conn) *sendQueue { return nil }

func (*sendQueue) bytes() (int, bool) { return 0, false }
