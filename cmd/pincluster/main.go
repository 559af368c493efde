// Command pincluster is a pinning cluster for IPFS: `pincluster daemon` runs a peer, the other
// commands manage it and talk to its REST API. See `pincluster --help`.
package main

import (
	"os"

	"github.com/pincluster/pincluster/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
