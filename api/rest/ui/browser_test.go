package ui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gocid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/peer"
)

// chromiumBin is the browser the end-to-end test drives: $PINCLUSTER_CHROMIUM, or Debian's
// chromium (.ci/run installs it), or another Chrome on the PATH; "" when none is found.
func chromiumBin() string {
	if b := os.Getenv("PINCLUSTER_CHROMIUM"); b != "" {
		return b
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func testCid(t *testing.T, s string) api.Cid {
	t.Helper()
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

// daemon is a real single-peer daemon (fake IPFS backend) with basic auth: alice is admin, bob
// reads.
type daemon struct {
	p       *peer.Peer
	backend *fake.Backend
	base    string
}

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	cfg := servicejson.Default()
	cfg.Cluster.ListenMultiaddress = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.API.RestAPI.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.API.RestAPI.BasicAuthCredentials = map[string]string{"alice": "secret", "bob": "bobpw"}
	cfg.API.RestAPI.BasicAuthPermissions = map[string][]string{"bob": {"read"}}
	cfg.API.IPFSProxy.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.API.PinSvcAPI.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.Cluster.Peername = "ui-test"
	cfg.Cluster.MonitorPingInterval = config.Duration(time.Second) // metrics every second
	cfg.Informer.MetricTTL = 3 * time.Second
	cfg.Informer.Tags = map[string]string{"group": "default", "region": "eu-west"}
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	b := fake.New()
	p, err := peer.New(context.Background(), t.TempDir(), cfg, ident, peer.Options{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	parts := strings.Split(p.RESTAddr(), "/") // /ip4/127.0.0.1/tcp/N
	return &daemon{p: p, backend: b, base: "http://" + parts[2] + ":" + parts[4]}
}

// get decodes a GET of the REST API as alice.
func (d *daemon) get(t *testing.T, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", d.base+path, nil)
	req.SetBasicAuth("alice", "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

type pinCounts struct {
	Pinset int `json:"pinset"`
	Peers  []struct {
		Peer   string `json:"peer"`
		Pinned int64  `json:"pinned"`
		Queued int64  `json:"queued"`
	} `json:"peers"`
}

// TestStatusPageInBrowser drives headless Chromium against a real daemon: log in, the counts
// shown are the API's, pin through the form and see the pin, a name holding a script is shown
// as text and never runs, failed pins have a Recover button, and a read-only token sees no
// write control.
func TestStatusPageInBrowser(t *testing.T) {
	bin := chromiumBin()
	if bin == "" {
		t.Skip("SKIPPED: no chromium found (apt-get install chromium, or set PINCLUSTER_CHROMIUM): the status page is NOT tested in a browser")
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	d := startDaemon(t)
	ctx := context.Background()

	// Five pins: two pin, three fail on IPFS.
	bads := []api.Cid{testCid(t, "broken1"), testCid(t, "broken2"), testCid(t, "broken3")}
	bad := bads[0]
	for _, c := range bads {
		d.backend.FailPin(c, errors.New("ipfs: block not found: context deadline exceeded"))
	}
	for i, c := range append([]api.Cid{testCid(t, "a"), testCid(t, "b")}, bads...) {
		if _, err := d.p.Pin(ctx, c, api.PinOptions{Name: fmt.Sprintf("seed-%d", i), Metadata: map[string]string{"owner": "ops"}}); err != nil {
			t.Fatal(err)
		}
	}
	self := d.p.PeerID().String()
	var counts pinCounts
	if !poll.Until(30*time.Second, 100*time.Millisecond, func() bool {
		counts = pinCounts{}
		d.get(t, "/pins/counts", &counts)
		for _, c := range bads {
			if g, err := d.p.Status(ctx, c, true); err != nil || g.PeerMap[self].Status != api.TrackerStatusPinError {
				return false
			}
		}
		return counts.Pinset == 5 && len(counts.Peers) == 1 && counts.Peers[0].Pinned >= 2 && counts.Peers[0].Queued == 0
	}) {
		t.Fatalf("the seed pins never settled: %+v", counts)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // CI runs as root
		chromedp.WindowSize(1280, 1400),
	)
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	defer cancelB()
	// The first call starts the browser; it gets no timeout (that would stop the browser).
	if err := chromedp.Do(bctx, chromedp.Navigate(d.base+"/ui/")); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	pageText := func() string {
		sctx, cancel := context.WithTimeout(bctx, 5*time.Second)
		defer cancel()
		s, _ := chromedp.Run(sctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		return s
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v\npage text:\n%s", what, err, pageText())
		}
	}
	eval := func(what, expr string, v any) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		js, err := chromedp.Run(sctx, chromedp.Evaluate[string](`JSON.stringify(`+expr+`)`))
		if err == nil {
			err = json.Unmarshal([]byte(js), v)
		}
		if err != nil {
			t.Fatalf("%s: %v\npage text:\n%s", what, err, pageText())
		}
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		eval("read "+sel, fmt.Sprintf(`document.querySelector(%q).textContent`, sel), &s)
		return strings.TrimSpace(s)
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	// js runs a statement in the page (chromedp.SetValue does not take textareas).
	js := func(stmt string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](stmt+"; true")(ctx, tg)
			return err
		})
	}
	setValue := func(sel, v string) chromedp.Action[chromedp.Void] {
		return js(fmt.Sprintf(`document.querySelector(%q).value = %q`, sel, v))
	}
	wait := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second))
	}

	// Log in with the form.
	run("log in",
		chromedp.WaitVisible(css("#login-basic")),
		chromedp.SendKeys(css("#login-user"), "alice"),
		chromedp.SendKeys(css("#login-password"), "secret"),
		chromedp.Click(css("#login-basic button[type=submit]")),
		chromedp.WaitVisible(css("#pin-form")),
		wait(`document.querySelector("#pinset-count").textContent === "5" && document.querySelectorAll("#peers tbody tr").length === 1`),
	)
	// The counts shown are the API's.
	if got, want := text("#pinset-count"), fmt.Sprint(counts.Pinset); got != want {
		t.Errorf("pinset count shown %q, API says %s", got, want)
	}
	if got, want := text("#peers tbody td.pinned"), fmt.Sprint(counts.Peers[0].Pinned); got != want {
		t.Errorf("pinned count shown %q, API says %s", got, want)
	}
	if got := text("#peers tbody tr"); !strings.Contains(got, "ui-test") || !strings.Contains(got, "region=eu-west") {
		t.Errorf("peer row %q lacks the peer name or its tags", got)
	}
	// The failed pin is listed with its error and a Recover button.
	run("failed pins", wait(`document.querySelectorAll("#failed tbody tr button.recover").length === 3`))
	if got := text("#failed tbody"); !strings.Contains(got, bad.String()) || !strings.Contains(got, "block not found") {
		t.Errorf("failed rows %q", got)
	}
	// Recover one once IPFS can fetch it: it pins, and leaves the failed list on refresh.
	d.backend.Heal(bad)
	run("recover",
		js(fmt.Sprintf(`[...document.querySelectorAll("#failed tbody tr")].find(tr => tr.cells[0].textContent === %q).querySelector("button.recover").click()`, bad.String())),
		wait(`[...document.querySelectorAll("#failed button.recover")].some(b => b.textContent === "Recovered")`),
		chromedp.Click(css("#refresh")),
		wait(`document.querySelectorAll("#failed tbody tr").length === 2`),
	)
	if g, err := d.p.Status(ctx, bad, true); err != nil || g.PeerMap[self].Status != api.TrackerStatusPinned {
		t.Errorf("recovered pin: %+v, %v", g, err)
	}

	// Pin through the form, with options; the pin appears and the count follows.
	docs := testCid(t, "docs")
	run("pin through the form",
		chromedp.SendKeys(css("#pin-cid"), docs.String()),
		chromedp.SendKeys(css("#pin-name"), "website docs"),
		chromedp.SendKeys(css("#pin-rmin"), "-1"),
		chromedp.SendKeys(css("#pin-rmax"), "-1"),
		chromedp.SendKeys(css("#pin-meta"), "team=web"),
		chromedp.Click(css("#pin-form button[type=submit]")),
		wait(fmt.Sprintf(`!!document.querySelector('#recent tr[data-cid=%q]')`, docs.String())),
		wait(`document.querySelector("#pinset-count").textContent === "6"`),
	)
	pin, err := d.p.PinGet(ctx, docs)
	if err != nil || pin.Name != "website docs" || pin.Metadata["team"] != "web" || pin.ReplicationFactorMin != -1 {
		t.Fatalf("the form's pin: %+v, %v", pin, err)
	}
	run("search by name",
		chromedp.SendKeys(css("#search-q"), "docs"),
		chromedp.Click(css("#search-form button[type=submit]")),
		wait(fmt.Sprintf(`[...document.querySelectorAll("#search-results tbody td.cid")].some(td => td.textContent === %q)`, docs.String())),
	)

	// A name with a script is shown as text and never runs.
	xss := testCid(t, "xss")
	evil := `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`
	run("pin a hostile name",
		setValue("#pin-cid", xss.String()),
		setValue("#pin-name", evil),
		setValue("#pin-meta", ""),
		chromedp.Click(css("#pin-form button[type=submit]")),
		wait(fmt.Sprintf(`!!document.querySelector('#recent tr[data-cid=%q]')`, xss.String())),
		setValue("#search-q", "window.__xss"),
		chromedp.Click(css("#search-form button[type=submit]")),
		wait(fmt.Sprintf(`[...document.querySelectorAll("#search-results tbody td.cid")].some(td => td.textContent === %q)`, xss.String())),
	)
	var xssState struct {
		Flag    string `json:"flag"`
		Scripts int    `json:"scripts"`
		Imgs    int    `json:"imgs"`
		Shown   int    `json:"shown"`
	}
	eval("check the hostile name", fmt.Sprintf(`({
		flag: typeof window.__xss,
		scripts: document.querySelectorAll("script").length,
		imgs: document.querySelectorAll("img").length,
		shown: [...document.querySelectorAll("#recent td, #search-results td")].filter(td => td.textContent === %q).length,
	})`, evil), &xssState)
	if xssState.Flag != "undefined" || xssState.Scripts != 1 || xssState.Imgs != 0 || xssState.Shown != 2 {
		t.Errorf("hostile name: %+v (want window.__xss undefined, only the page's script, no img, the name shown as text in both tables)", xssState)
	}

	if path := os.Getenv("UI_SCREENSHOT"); path != "" {
		run("tidy for the screenshot",
			setValue("#search-q", ""),
			js(`document.querySelector("#search-results tbody").replaceChildren(); document.querySelector("#search-note").textContent = ""; document.querySelector("#pin-result").textContent = ""; window.scrollTo(0, 0)`),
		)
		sctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot written to %s", path)
	}

	// A read-only token: no pin form, no Recover button.
	var tok struct {
		Token string `json:"token"`
	}
	req, _ := http.NewRequest("POST", d.base+"/token?permissions=read", nil)
	req.SetBasicAuth("alice", "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.Token == "" {
		t.Fatalf("POST /token: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	run("read-only token",
		chromedp.Click(css("#logout")),
		chromedp.WaitVisible(css("#login-token")),
		chromedp.SendKeys(css("#login-tokenvalue"), tok.Token),
		chromedp.Click(css("#login-token button[type=submit]")),
		chromedp.WaitVisible(css("#app")),
		wait(`document.querySelector("#pinset-count").textContent === "7" && document.querySelectorAll("#failed tbody tr").length === 2`),
	)
	var writeControls int
	eval("write controls", `document.querySelectorAll("#pin-form, #pin-section, button.recover").length`, &writeControls)
	if writeControls != 0 {
		t.Errorf("a read-only token sees %d write controls", writeControls)
	}
	if got := text("#whoami"); !strings.Contains(got, "token") || !strings.Contains(got, "read") {
		t.Errorf("whoami shows %q", got)
	}

	// Failed pins are paged (?page=1 here): More reads on from the stream.
	run("paged failed pins",
		chromedp.Navigate(d.base+"/ui/?page=1"),
		wait(`document.querySelectorAll("#failed tbody tr").length === 1 && !document.querySelector("#failed-more").hidden`),
		chromedp.Click(css("#failed-more")),
		wait(`document.querySelectorAll("#failed tbody tr").length === 2`),
	)

	// A wrong password stays on the login form with the API's message.
	run("wrong password",
		chromedp.Click(css("#logout")),
		chromedp.WaitVisible(css("#login-basic")),
		chromedp.SendKeys(css("#login-user"), "bob"),
		chromedp.SendKeys(css("#login-password"), "nope"),
		chromedp.Click(css("#login-basic button[type=submit]")),
		wait(`document.querySelector("#login-error").textContent.includes("wrong user or password")`),
	)
}
