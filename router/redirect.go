package router

import "strings"

// ErrorKind classifies a Redis error reply by what a cluster client must do
// about it.
type ErrorKind uint8

// The error kinds a cluster client tells apart. Anything that is not a
// well-formed cluster error is KindOther and goes back to the caller.
const (
	KindOther       ErrorKind = iota // not a cluster error (or a malformed one)
	KindMoved                        // "MOVED <slot> <host>:<port>": the slot moved for good
	KindAsk                          // "ASK <slot> <host>:<port>": retry once there, after ASKING
	KindTryAgain                     // "TRYAGAIN ...": multi-key command during a migration; back off
	KindClusterDown                  // "CLUSTERDOWN ...": the slot is not served right now; back off
	KindLoading                      // "LOADING ...": the node is loading its data set; back off
)

var kindNames = [...]string{
	KindOther:       "other",
	KindMoved:       "moved",
	KindAsk:         "ask",
	KindTryAgain:    "tryagain",
	KindClusterDown: "clusterdown",
	KindLoading:     "loading",
}

// String returns the lower-case name of the kind ("moved", "ask", ...), as
// used in metric names and logs.
func (k ErrorKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Redirect is a parsed cluster error. For MOVED and ASK, Slot, Addr, Host
// and Port describe the target; Addr and Host are sub-strings of the parsed
// message (no copy), so they keep that message alive.
type Redirect struct {
	Kind ErrorKind
	Slot uint16 // MOVED/ASK only
	// Addr is "host:port" exactly as in the message (MOVED/ASK only). Its
	// host may be empty (":6380"): Redis sends that when the target's
	// endpoint is unknown, meaning "the host of the node that replied"; see
	// FillHost.
	Addr string
	Host string // without IPv6 brackets; may be empty (see Addr)
	Port int    // 1..65535
}

// IsRedirect reports whether the error sends the command to another node
// (MOVED or ASK).
func (r Redirect) IsRedirect() bool { return r.Kind == KindMoved || r.Kind == KindAsk }

// ParseRedirect classifies an error reply. msg is the error text without the
// RESP '-' prefix (a leading '-' and a trailing CRLF are tolerated), e.g.
// "MOVED 3999 127.0.0.1:6381". A MOVED or ASK that is malformed (missing
// parts, slot >= 16384, non-numeric or out-of-range slot or port, leading
// zeros, trailing text) is KindOther: the caller then reports it as an error
// instead of following a bogus address.
//
// IPv6 targets come unbracketed from Redis ("MOVED 1 ::1:7000") and may come
// bracketed ("[::1]:7000"): the port is after the last colon.
//
// ParseRedirect never allocates: it indexes into msg and returns
// sub-strings. This runs on every error reply of the hot path, which is
// where rueidis' strings.Split-based IsMoved allocates.
func ParseRedirect(msg string) Redirect {
	if len(msg) > 0 && msg[0] == '-' {
		msg = msg[1:]
	}
	if n := len(msg); n >= 2 && msg[n-2] == '\r' && msg[n-1] == '\n' {
		msg = msg[:n-2]
	}
	if len(msg) == 0 {
		return Redirect{}
	}
	// Dispatch on the first byte so that plain errors ("ERR ...",
	// "WRONGTYPE ...") cost one comparison.
	switch msg[0] {
	case 'M':
		if rest, ok := cutWord(msg, "MOVED"); ok {
			return parseTarget(KindMoved, rest)
		}
	case 'A':
		if rest, ok := cutWord(msg, "ASK"); ok {
			return parseTarget(KindAsk, rest)
		}
	case 'T':
		if _, ok := cutWord(msg, "TRYAGAIN"); ok {
			return Redirect{Kind: KindTryAgain}
		}
	case 'C':
		if _, ok := cutWord(msg, "CLUSTERDOWN"); ok {
			return Redirect{Kind: KindClusterDown}
		}
	case 'L':
		if _, ok := cutWord(msg, "LOADING"); ok {
			return Redirect{Kind: KindLoading}
		}
	}
	return Redirect{}
}

// cutWord reports whether msg starts with the error code word, followed by
// the end of msg or a space, and returns what follows the space.
func cutWord(msg, word string) (rest string, ok bool) {
	if len(msg) < len(word) || msg[:len(word)] != word {
		return "", false
	}
	if len(msg) == len(word) {
		return "", true
	}
	if msg[len(word)] != ' ' {
		return "", false // e.g. "MOVEDX", "ASKING ..."
	}
	return msg[len(word)+1:], true
}

// parseTarget parses "<slot> <host>:<port>" strictly; any deviation yields
// KindOther.
func parseTarget(kind ErrorKind, s string) Redirect {
	// The slot: digits up to the first space.
	slot, i := 0, 0
	for ; i < len(s) && s[i] != ' '; i++ {
		c := s[i]
		if c < '0' || c > '9' || (i == 1 && s[0] == '0') {
			return Redirect{} // not a digit, or a leading zero
		}
		if slot = slot*10 + int(c-'0'); slot >= NumSlots {
			return Redirect{}
		}
	}
	if i == 0 || i == len(s) {
		return Redirect{} // no slot, or no address
	}
	addr := s[i+1:]
	// One pass over the address: the last colon splits host and port; a
	// space means trailing text, a bracket is only allowed around the host.
	colon, brackets := -1, false
	for j := 0; j < len(addr); j++ {
		switch addr[j] {
		case ':':
			colon = j
		case ' ':
			return Redirect{}
		case '[', ']':
			brackets = true
		}
	}
	if colon < 0 {
		return Redirect{}
	}
	port, ok := parseUint(addr[colon+1:], 65535)
	if !ok || port == 0 {
		return Redirect{}
	}
	host := addr[:colon]
	if brackets {
		if len(host) < 2 || host[0] != '[' || host[len(host)-1] != ']' {
			return Redirect{}
		}
		host = host[1 : len(host)-1]
		if strings.IndexByte(host, '[') >= 0 || strings.IndexByte(host, ']') >= 0 {
			return Redirect{} // nested brackets
		}
	}
	return Redirect{Kind: kind, Slot: uint16(slot), Addr: addr, Host: host, Port: port}
}

// parseUint parses a canonical decimal number (digits only, no sign, no
// leading zero unless the number is 0) no greater than max. Unlike
// strconv.Atoi it never allocates, also not on failure.
func parseUint(s string, max int) (int, bool) {
	if len(s) == 0 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > max {
			return 0, false
		}
	}
	return n, true
}

// FillHost completes an address whose host is empty (":6380", as in a MOVED
// reply or a topology entry for a node whose endpoint is unknown) with the
// host of from, the node that sent it. Other addresses are returned as they
// are.
func FillHost(addr, from string) string {
	if len(addr) == 0 || addr[0] != ':' {
		return addr
	}
	colon := strings.LastIndexByte(from, ':')
	if colon < 0 {
		return addr
	}
	return from[:colon] + addr
}
