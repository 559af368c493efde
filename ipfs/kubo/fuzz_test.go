package kubo

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// FuzzDecoders: every decoder of Kubo's answers survives arbitrary bytes (no panic, no hang) and
// reports only well-formed CIDs.
func FuzzDecoders(f *testing.F) {
	for _, seed := range []string{
		`{"Progress":3}` + "\n" + `{"Pins":["` + cidA + `"]}`,
		`{"Cid":"` + cidA + `","Type":"recursive"}` + "\n" + `{"Cid":"` + cidB + `","Type":"direct"}`,
		`{"Keys":{"` + cidA + `":{"Type":"recursive"}}}`,
		`{"Name":"a","Bytes":10}{"Name":"a","Hash":"` + cidB + `","Size":"11"}`,
		`{"Key":{"/":"` + cidB + `"}}{"Error":"x"}`,
		`{"Path":"/ipfs/` + cidA + `/x"}`,
		`{"ID":"12D3KooW","Addresses":["/ip4/1.2.3.4/tcp/1"]}`,
		`{"RepoSize":1,"StorageMax":2,"NumObjects":3,"RepoPath":"/x"}`,
		`{"Key":null}`, `[]`, `{`, `"`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := func() *bytes.Reader { return bytes.NewReader(data) }
		check := func(c api.Cid) {
			if c.Defined() && c.String() == "" {
				t.Fatalf("defined CID with no string form")
			}
		}
		decodePinAdd(r(), func(uint64) {})
		decodePinLs(r(), func(c api.Cid, m api.PinMode) error {
			check(c)
			if m != api.PinModeRecursive && m != api.PinModeDirect {
				t.Fatalf("pin ls mode %v", m)
			}
			return nil
		})
		if c, err := decodeAdd(r(), func(o api.AddedOutput) { check(o.Cid) }); err == nil {
			check(c)
		}
		if cs, err := decodeGC(r()); err == nil {
			for _, c := range cs {
				check(c)
			}
		}
		if c, err := decodeResolve(r()); err == nil && !c.Defined() {
			t.Fatal("resolve succeeded without a CID")
		}
		if id, err := decodeID(r()); err == nil && (id.ID == "" || id.Addresses == nil) {
			t.Fatalf("id %+v", id)
		}
		decodeRepoStat(r())
	})
}

// FuzzParseError: any error body yields an error naming the command.
func FuzzParseError(f *testing.F) {
	f.Add(500, "application/json", []byte(`{"Message":"not pinned or pinned indirectly","Code":0,"Type":"error"}`))
	f.Add(400, "text/plain", []byte("bad option"))
	f.Add(404, "", []byte{})
	f.Add(500, "application/json", []byte(`{"Message":`))
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		err := parseError("pin/add", status, ctype, body)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte("kubo pin/add")) {
			t.Fatalf("parseError = %v", err)
		}
		errors.Is(err, api.ErrInvalid) // Unwrap must not panic
	})
}
