package abi

import (
	"encoding/binary"
	"errors"
	"strconv"
)

var le = binary.LittleEndian

// Batch header offsets.
const (
	offMagic     = 0
	offVersion   = 4
	offSessions  = 8
	offAgents    = 12
	offOwners    = 16
	offConfigLen = 20
	offCursor    = 24
	offNow       = 32
	offTotal     = 40
)

// BatchSize returns the encoded size of b in bytes.
func BatchSize(b *Batch) int {
	return BatchHeaderSize + len(b.Sessions)*SessionSize + len(b.Agents)*AgentSize +
		len(b.Owners)*OwnerSize + len(b.Config)
}

// EncodeBatch encodes b into a new buffer.
func EncodeBatch(b *Batch) []byte {
	return AppendBatch(make([]byte, 0, BatchSize(b)), b)
}

// AppendBatch appends the encoding of b to dst. Session and agent Index
// fields are written as given; a well-formed batch has Index == position.
func AppendBatch(dst []byte, b *Batch) []byte {
	start := len(dst)
	dst = grow(dst, BatchSize(b))
	buf := dst[start:]
	le.PutUint32(buf[offMagic:], MagicBatch)
	le.PutUint32(buf[offVersion:], Version)
	le.PutUint32(buf[offSessions:], uint32(len(b.Sessions)))
	le.PutUint32(buf[offAgents:], uint32(len(b.Agents)))
	le.PutUint32(buf[offOwners:], uint32(len(b.Owners)))
	le.PutUint32(buf[offConfigLen:], uint32(len(b.Config)))
	le.PutUint32(buf[offCursor:], b.Cursor)
	le.PutUint32(buf[28:], 0)
	le.PutUint64(buf[offNow:], uint64(b.Now))
	putResources(buf[offTotal:], b.Total)
	p := buf[BatchHeaderSize:]
	for i := range b.Sessions {
		s := &b.Sessions[i]
		le.PutUint32(p[0:], s.Index)
		le.PutUint32(p[4:], uint32(s.Priority))
		le.PutUint32(p[8:], s.Owner)
		le.PutUint32(p[12:], 0)
		le.PutUint64(p[16:], uint64(s.CreatedAt))
		putResources(p[24:], s.Request)
		p = p[SessionSize:]
	}
	for i := range b.Agents {
		a := &b.Agents[i]
		le.PutUint32(p[0:], a.Index)
		le.PutUint32(p[4:], a.Sessions)
		putResources(p[8:], a.Capacity)
		putResources(p[32:], a.Used)
		p = p[AgentSize:]
	}
	for _, o := range b.Owners {
		putResources(p, o)
		p = p[OwnerSize:]
	}
	copy(p, b.Config)
	return dst
}

// DecodeBatch decodes an input batch. The returned Batch shares no memory
// with buf.
func DecodeBatch(buf []byte) (*Batch, error) {
	if len(buf) < BatchHeaderSize {
		return nil, errors.New("batch too short: " + strconv.Itoa(len(buf)) + " bytes")
	}
	if m := le.Uint32(buf[offMagic:]); m != MagicBatch {
		return nil, errors.New("not a batch (bad magic 0x" + strconv.FormatUint(uint64(m), 16) + ")")
	}
	if v := le.Uint32(buf[offVersion:]); v != Version {
		return nil, errors.New("unsupported batch version " + strconv.FormatUint(uint64(v), 10))
	}
	ns := int(le.Uint32(buf[offSessions:]))
	na := int(le.Uint32(buf[offAgents:]))
	no := int(le.Uint32(buf[offOwners:]))
	nc := int(le.Uint32(buf[offConfigLen:]))
	want := BatchHeaderSize + ns*SessionSize + na*AgentSize + no*OwnerSize + nc
	if len(buf) != want {
		return nil, errors.New("batch length " + strconv.Itoa(len(buf)) + " does not match its header (want " + strconv.Itoa(want) + ")")
	}
	b := &Batch{
		Cursor:   le.Uint32(buf[offCursor:]),
		Now:      int64(le.Uint64(buf[offNow:])),
		Total:    getResources(buf[offTotal:]),
		Sessions: make([]Session, ns),
		Agents:   make([]Agent, na),
		Owners:   make([]Resources, no),
	}
	p := buf[BatchHeaderSize:]
	for i := range b.Sessions {
		b.Sessions[i] = Session{
			Index:     le.Uint32(p[0:]),
			Priority:  int32(le.Uint32(p[4:])),
			Owner:     le.Uint32(p[8:]),
			CreatedAt: int64(le.Uint64(p[16:])),
			Request:   getResources(p[24:]),
		}
		p = p[SessionSize:]
	}
	for i := range b.Agents {
		b.Agents[i] = Agent{
			Index:    le.Uint32(p[0:]),
			Sessions: le.Uint32(p[4:]),
			Capacity: getResources(p[8:]),
			Used:     getResources(p[32:]),
		}
		p = p[AgentSize:]
	}
	for i := range b.Owners {
		b.Owners[i] = getResources(p)
		p = p[OwnerSize:]
	}
	b.Config = string(p[:nc])
	return b, nil
}

// DecisionSize returns the encoded size of a decision with n picks.
func DecisionSize(n int) int { return DecisionHeaderSize + n*PickSize }

// EncodeDecision encodes d into a new buffer.
func EncodeDecision(d *Decision) []byte {
	return AppendDecision(make([]byte, 0, DecisionSize(len(d.Picks))), d)
}

// AppendDecision appends the encoding of d to dst.
func AppendDecision(dst []byte, d *Decision) []byte {
	start := len(dst)
	dst = grow(dst, DecisionSize(len(d.Picks)))
	buf := dst[start:]
	le.PutUint32(buf[0:], MagicDecision)
	le.PutUint32(buf[4:], Version)
	le.PutUint32(buf[8:], uint32(len(d.Picks)))
	le.PutUint32(buf[12:], d.Cursor)
	p := buf[DecisionHeaderSize:]
	for _, pk := range d.Picks {
		le.PutUint32(p[0:], pk.Session)
		le.PutUint32(p[4:], pk.Agent)
		p = p[PickSize:]
	}
	return dst
}

// EncodeError encodes a guest error report carrying msg.
func EncodeError(msg string) []byte {
	buf := make([]byte, ErrorHeaderSize+len(msg))
	le.PutUint32(buf[0:], MagicError)
	le.PutUint32(buf[4:], uint32(len(msg)))
	copy(buf[ErrorHeaderSize:], msg)
	return buf
}

// GuestError is a failure the policy reported itself (an error report
// instead of a decision).
type GuestError struct {
	Message string
}

func (e *GuestError) Error() string { return "policy reported an error: " + e.Message }

// DecodeDecision decodes a guest's output. A well-formed error report
// decodes to a *GuestError. Pick indices are not checked against any
// batch; that is the scheduler's re-check.
func DecodeDecision(buf []byte) (*Decision, error) {
	if len(buf) < 8 {
		return nil, errors.New("decision too short: " + strconv.Itoa(len(buf)) + " bytes")
	}
	switch m := le.Uint32(buf[0:]); m {
	case MagicDecision:
	case MagicError:
		n := int(le.Uint32(buf[4:]))
		if len(buf) != ErrorHeaderSize+n {
			return nil, errors.New("error report length " + strconv.Itoa(len(buf)) + " does not match its header")
		}
		return nil, &GuestError{Message: string(buf[ErrorHeaderSize:])}
	default:
		return nil, errors.New("not a decision (bad magic 0x" + strconv.FormatUint(uint64(m), 16) + ")")
	}
	if len(buf) < DecisionHeaderSize {
		return nil, errors.New("decision too short: " + strconv.Itoa(len(buf)) + " bytes")
	}
	if v := le.Uint32(buf[4:]); v != Version {
		return nil, errors.New("unsupported decision version " + strconv.FormatUint(uint64(v), 10))
	}
	n := int(le.Uint32(buf[8:]))
	if len(buf) != DecisionSize(n) {
		return nil, errors.New("decision length " + strconv.Itoa(len(buf)) + " does not match its pick count " + strconv.Itoa(n))
	}
	d := &Decision{Cursor: le.Uint32(buf[12:]), Picks: make([]Pick, n)}
	p := buf[DecisionHeaderSize:]
	for i := range d.Picks {
		d.Picks[i] = Pick{Session: le.Uint32(p[0:]), Agent: le.Uint32(p[4:])}
		p = p[PickSize:]
	}
	return d, nil
}

func putResources(b []byte, r Resources) {
	le.PutUint64(b[0:], uint64(r.CPUMilli))
	le.PutUint64(b[8:], uint64(r.Mem))
	le.PutUint64(b[16:], uint64(r.GPU))
}

func getResources(b []byte) Resources {
	return Resources{
		CPUMilli: int64(le.Uint64(b[0:])),
		Mem:      int64(le.Uint64(b[8:])),
		GPU:      int64(le.Uint64(b[16:])),
	}
}

// grow extends dst by n bytes, reallocating if needed.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		nd := make([]byte, len(dst), len(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	return dst[:len(dst)+n]
}
