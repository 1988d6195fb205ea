package openflow

// Log keys.
const (
	logKeyRemote   = "remote"
	logKeyTarget   = "target"
	logKeyType     = "msg_type"
	logKeyXid      = "xid"
	logKeyOFError  = "of_error"
	logKeyRole     = "role"
	logKeyBackoff  = "backoff"
	logKeyConns    = "connections"
	logKeyPanic    = "panic"
	logKeyMultType = "multipart_type"
	logKeyReason   = "reason"
	logKeyIdle     = "idle"
	logKeyProbe    = "inactivity_probe"
	logKeyStack    = "stack"
	logKeyEntries  = "entries"
	logKeySubject  = "peer_subject"
)
