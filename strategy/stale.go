package strategy

import "github.com/clusterbench/clusterbench/router"

// StalePolicy reads the slot map once at start and never refreshes or
// patches it: every command for a moved slot pays the redirect for as long
// as the run lasts (Lettuce up to 6 with default options, and clients whose
// only refresh is a long periodic timer).
var StalePolicy = router.Policy{Moved: router.MovedFollow, Refresh: router.RefreshNone, MaxRedirects: 16}

func init() {
	registerPolicy("stale", "slot map read once at start, redirects followed, never refreshed", StalePolicy)
}
