package status

import (
	"syscall"
	"unsafe"
)

// sendQueue reads how many bytes the kernel still holds of what a live stream wrote: not yet sent,
// or sent and not yet acknowledged by the viewer (SIOCOUTQ).
type sendQueue struct {
	rc    syscall.RawConn
	probe func(fd uintptr) // made once: a read allocates nothing
	n     int32            // the ioctl's int
	errno syscall.Errno
}

// newSendQueue returns c's queue, or nil when c has no file descriptor.
func newSendQueue(c syscall.Conn) *sendQueue {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	q := &sendQueue{rc: rc}
	q.probe = func(fd uintptr) {
		_, _, q.errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&q.n)))
	}
	return q
}

// bytes reports the bytes queued, and false when they cannot be read. Only the stream's handler
// calls it.
func (q *sendQueue) bytes() (int, bool) {
	if q == nil {
		return 0, false
	}
	if err := q.rc.Control(q.probe); err != nil || q.errno != 0 {
		return 0, false
	}
	return int(q.n), true
}
