// Package strategy holds the client strategies clusterbench compares: one
// small interface, one file per strategy.
//
// A strategy is a redirect policy. The own strategies (router, unaware,
// stale and the like-* presets of other clients' policies) are the
// router package's executor with different knobs, over connections of
// their own (internal/resp: one per worker per node). The others drive the
// real Go libraries (rueidis, go-redis, radix) as their users would.
package strategy
