package console

import "net"

// FakePeerUID makes every unix peer look like uid (a stranger, for the
// test that one is refused: tests cannot switch uids), until restore.
func FakePeerUID(uid uint32) (restore func()) {
	peerMu.Lock()
	defer peerMu.Unlock()
	old := peerCred
	peerCred = func(c *net.UnixConn) (uint32, int32, error) {
		_, pid, err := socketPeerCred(c)
		return uid, pid, err
	}
	return func() {
		peerMu.Lock()
		peerCred = old
		peerMu.Unlock()
	}
}
