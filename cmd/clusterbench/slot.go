package main

// `clusterbench slot KEY... | -`: the Redis Cluster hash slot of keys, the
// same number CLUSTER KEYSLOT returns, computed locally (no server needed).

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strconv"

	"github.com/clusterbench/clusterbench/router"
	"github.com/spf13/cobra"
)

func init() { register(newSlotCmd) }

func newSlotCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "slot KEY... | -",
		Short: `Print the hash slot of each key ("KEY<TAB>SLOT"); "-" reads keys from stdin`,
		Long: `slot prints one line per key: the key, a tab, and its hash slot (0-16383),
the number CLUSTER KEYSLOT returns. It needs no server.

The slot is CRC16(k) mod 16384, where k is the key's hash tag if it has one
(the bytes between the first '{' and the first '}' after it, when there is at
least one byte between them) and the whole key otherwise: keys that share a
tag share a slot.

With "-" as the only argument, slot reads one key per line from stdin (a
trailing CR is dropped, lines may be of any length) and prints one line per
input line, so its output lines up with its input. Put keys that start with
'-' after "--".`,
		Example: `  $ clusterbench slot somekey 'foo{hash_tag}' '{user1000}.following'
  somekey	11058
  foo{hash_tag}	2515
  {user1000}.following	3443

  $ printf 'user:1\nuser:2\n' | clusterbench slot -
  user:1	10778
  user:2	6777`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return badInput("slot needs at least one KEY, or - to read keys from stdin (see --help)")
			case len(args) == 1 && args[0] == "-":
				return writeSlotsFrom(cmd.OutOrStdout(), cmd.InOrStdin())
			case slices.Contains(args, "-"):
				return badInput(`slot: "-" reads the keys from stdin and cannot be mixed with KEY arguments`)
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			for _, key := range args {
				writeSlotLine(w, []byte(key))
			}
			return w.Flush()
		},
	}
}

// slotIOBuffer is the size of the stdin and stdout buffers: large inputs go
// through in big reads and writes.
const slotIOBuffer = 64 << 10

// writeSlotsFrom writes "KEY<TAB>SLOT" for each line of r. A line longer than
// the read buffer is gathered in a separate buffer, so any length works.
func writeSlotsFrom(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, slotIOBuffer)
	bw := bufio.NewWriterSize(w, slotIOBuffer)
	var long []byte // the start of a line that did not fit in br's buffer
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if len(long) > 0 {
			long = append(long, chunk...)
			line = long
		}
		// At EOF, chunk is what follows the last newline: usually nothing.
		if len(line) > 0 {
			writeSlotLine(bw, trimEOL(line))
		}
		long = long[:0]
		if err == io.EOF {
			return bw.Flush()
		}
		if err != nil {
			return err
		}
	}
}

// trimEOL drops a trailing "\n" or "\r\n".
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line
}

// writeSlotLine writes "KEY<TAB>SLOT\n". Write errors stick in w and come
// back from its Flush.
func writeSlotLine(w *bufio.Writer, key []byte) {
	var num [8]byte
	w.Write(key)
	w.WriteByte('\t')
	w.Write(strconv.AppendUint(num[:0], uint64(router.Slot(key)), 10))
	w.WriteByte('\n')
}
