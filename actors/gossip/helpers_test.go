package gossip

import (
	"flag"

	"github.com/pincluster/pincluster/internal/testpeer"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the current encoders")

// wirePeer is a peer ID that is the same for the same seed (internal/testpeer).
var wirePeer = testpeer.ID
