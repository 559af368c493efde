package cluster

import (
	"context"
	"errors"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs/fake"
)

// resolveRecorder answers Resolve with a fixed CID and records the paths asked.
type resolveRecorder struct {
	*fake.Backend
	to    api.Cid
	asked []string
}

func (r *resolveRecorder) Resolve(_ context.Context, path string) (api.Cid, error) {
	r.asked = append(r.asked, path)
	return r.to, nil
}

func TestResolvePath(t *testing.T) {
	c := testCid(t, "root")
	sub := testCid(t, "sub")
	tests := []struct {
		path    string
		want    api.Cid
		backend string // the path the backend must be asked, "" = not asked
		wantErr error
	}{
		{c.String(), c, "", nil},
		{"/ipfs/" + c.String(), c, "", nil},
		{"/ipfs/" + c.String() + "/", c, "", nil},
		{"/ipld/" + c.String(), c, "", nil},
		{"/ipfs/" + c.String() + "/a/b", sub, "/ipfs/" + c.String() + "/a/b", nil},
		{"/ipld/" + c.String() + "/a/", sub, "/ipld/" + c.String() + "/a", nil},
		{"/ipns/example.com", sub, "/ipns/example.com", nil},
		{"/ipfs/notacid", api.CidUndef, "", api.ErrInvalid},
		{"/foo/bar", api.CidUndef, "", api.ErrInvalid},
		{"", api.CidUndef, "", api.ErrInvalid},
	}
	for _, tt := range tests {
		rec := &resolveRecorder{Backend: fake.New(), to: sub}
		s := &PinService{d: Deps{IPFS: rec}}
		got, err := s.resolvePath(context.Background(), tt.path)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("resolvePath(%q) = %v, %v; want %v", tt.path, got, err, tt.wantErr)
			}
		} else if err != nil || !got.Equals(tt.want.Cid) {
			t.Errorf("resolvePath(%q) = %v, %v; want %s", tt.path, got, err, tt.want)
		}
		switch {
		case tt.backend == "" && len(rec.asked) > 0:
			t.Errorf("resolvePath(%q) asked the backend %v", tt.path, rec.asked)
		case tt.backend != "" && (len(rec.asked) != 1 || rec.asked[0] != tt.backend):
			t.Errorf("resolvePath(%q) asked the backend %v, want [%s]", tt.path, rec.asked, tt.backend)
		}
	}
}
