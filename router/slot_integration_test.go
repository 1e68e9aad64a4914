package router_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/router"
)

// TestSlotMatchesRedisKeyslotIntegration asks a real cluster-enabled
// redis-server for CLUSTER KEYSLOT of many awkward keys and checks that Slot
// and SlotString agree with every answer.
func TestSlotMatchesRedisKeyslotIntegration(t *testing.T) {
	redistest.RequireServer(t)
	addr := redistest.StartNode(t) // stopped when the test ends, pass or fail

	const seed, count, batch = 20240617, 12000, 500
	r := rand.New(rand.NewPCG(seed, seed))
	keys := make([][]byte, 0, count)
	// The specification's examples and the edge cases first, then random keys.
	for _, k := range []string{"", "{", "}", "{}", "{{}}", "}{a}", "{a", "a{b}c{d}", "{a{b}c}",
		"somekey", "foo{hash_tag}", "foo", "{}foo", "{user1000}.following", "foo{}{bar}",
		"\x00", "{\x00}", "\r\n{\r\n}", strings.Repeat("k", 1100), "{" + strings.Repeat("t", 1100) + "}"} {
		keys = append(keys, []byte(k))
	}
	for len(keys) < count {
		keys = append(keys, randomKey(r))
	}

	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rd, wr := bufio.NewReader(conn), bufio.NewWriter(conn)
	for start := 0; start < len(keys); start += batch {
		part := keys[start:min(start+batch, len(keys))]
		// One write for the whole batch, then one reply per key, in order.
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		for _, k := range part {
			fmt.Fprintf(wr, "*3\r\n$7\r\nCLUSTER\r\n$7\r\nKEYSLOT\r\n$%d\r\n", len(k))
			wr.Write(k)
			wr.WriteString("\r\n")
		}
		if err := wr.Flush(); err != nil {
			t.Fatal(err)
		}
		for i, k := range part {
			want, err := readInteger(rd)
			if err != nil {
				t.Fatalf("seed %d, key %d (%q): %v", seed, start+i, k, err)
			}
			if got := router.Slot(k); int64(got) != want {
				t.Errorf("seed %d, key %d: Slot(%q) = %d, CLUSTER KEYSLOT = %d", seed, start+i, k, got, want)
			}
			if got := router.SlotString(string(k)); int64(got) != want {
				t.Errorf("seed %d, key %d: SlotString(%q) = %d, CLUSTER KEYSLOT = %d", seed, start+i, k, got, want)
			}
		}
		if t.Failed() {
			t.FailNow() // one batch of mismatches is enough to read
		}
	}
}

// readInteger reads one RESP integer reply (":123\r\n").
func readInteger(rd *bufio.Reader) (int64, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return 0, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if !strings.HasPrefix(line, ":") {
		return 0, fmt.Errorf("want an integer reply, got %q", line)
	}
	return strconv.ParseInt(line[1:], 10, 64)
}
