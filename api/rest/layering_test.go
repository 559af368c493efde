package rest

import (
	"go/build"
	"strings"
	"testing"
)

// The REST server depends on api and its own interfaces only: never on the IPFS backends, the
// actors, the store or the peer (their errors it needs are api's sentinels). Its status page's
// assets (api/rest/ui) are its own, internal/httpserve is the listeners' shared lifecycle and
// internal/httpbody the request body guard it shares with the Pinning Service API.
func TestRestImportsNoComponent(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/pincluster/pincluster/") && imp != "github.com/pincluster/pincluster/api" && imp != "github.com/pincluster/pincluster/api/rest/ui" &&
			imp != "github.com/pincluster/pincluster/internal/httpserve" && imp != "github.com/pincluster/pincluster/internal/httpbody" {
			t.Errorf("api/rest imports %s", imp)
		}
	}
}
