package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/cluster"
)

// DeleteKeys removes every key under prefix+":" from each master and
// returns how many it deleted. It never touches another key: SCAN matches
// the prefix (glob characters in it escaped) and every key is checked again
// before UNLINK. No FLUSHALL, no FLUSHDB, ever.
func DeleteKeys(ctx context.Context, masters []string, opt cluster.ConnOptions, prefix string) (int64, error) {
	head := prefix + ":"
	pattern := globEscape(head) + "*"
	var deleted int64
	for _, addr := range masters {
		c, err := cluster.Dial(addr, opt)
		if err != nil {
			return deleted, err
		}
		n, err := deleteOn(ctx, c, pattern, head)
		c.Close()
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("runner: delete keys on %s: %w", addr, err)
		}
	}
	return deleted, nil
}

func deleteOn(ctx context.Context, c rueidis.Client, pattern, head string) (int64, error) {
	var deleted int64
	cursor := uint64(0)
	for {
		entry, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(pattern).Count(1000).Build()).AsScanEntry()
		if err != nil {
			return deleted, err
		}
		keys := entry.Elements[:0]
		for _, k := range entry.Elements {
			if strings.HasPrefix(k, head) {
				keys = append(keys, k)
			}
		}
		// One UNLINK per key (a multi-key command must not span slots),
		// pipelined in one write.
		cmds := make(rueidis.Commands, 0, len(keys))
		for _, k := range keys {
			cmds = append(cmds, c.B().Unlink().Key(k).Build())
		}
		for _, r := range c.DoMulti(ctx, cmds...) {
			n, err := r.AsInt64()
			if err != nil {
				return deleted, err
			}
			deleted += n
		}
		cursor = entry.Cursor
		if cursor == 0 {
			return deleted, nil
		}
	}
}

// globEscape escapes the characters SCAN MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
