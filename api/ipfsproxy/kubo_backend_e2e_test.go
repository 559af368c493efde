package ipfsproxy_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/poll"
)

// startKubo runs `ipfs daemon --offline` on a fresh test repo (loopback, port 0) and returns
// its RPC API multiaddress; it is stopped at cleanup.
func startKubo(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	env := append(os.Environ(), "IPFS_PATH="+dir, "IPFS_TELEMETRY=off", "GOLOG_LOG_LEVEL=error")
	for _, s := range [][]string{
		{"init", "--profile", "test", "--empty-repo"},
		{"config", "Addresses.API", "/ip4/127.0.0.1/tcp/0"},
		{"config", "Addresses.Gateway", "/ip4/127.0.0.1/tcp/0"},
		{"config", "--json", "Addresses.Swarm", `["/ip4/127.0.0.1/tcp/0"]`},
		{"config", "--json", "Bootstrap", "[]"},
		{"config", "--json", "Discovery.MDNS.Enabled", "false"},
		{"config", "Routing.Type", "none"},
	} {
		cmd := exec.Command(bin, s...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ipfs %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	var log bytes.Buffer
	cmd := exec.Command(bin, "daemon", "--offline")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	var addr string
	if !poll.Until(60*time.Second, 50*time.Millisecond, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "api"))
		addr = strings.TrimSpace(string(b))
		return err == nil && addr != ""
	}) {
		t.Fatalf("Kubo did not write its API address within 60s")
	}
	return addr
}

// TestKuboBackendForwarding: with the kubo backend, Kubo's CLI pins and adds through the
// cluster (the tracker then pins in Kubo) and every other command reaches Kubo itself.
func TestKuboBackendForwarding(t *testing.T) {
	bin := kuboBin(t)
	if bin == "" {
		t.Skip("SKIPPED: Kubo's CLI not found: run `make kubo` or set PINCLUSTER_KUBO_BIN; forwarding to Kubo is NOT tested")
	}
	kuboAPI := startKubo(t, bin)
	p := loopbackPeer(t, func(cfg *servicejson.Config) {
		cfg.IPFS.Backend, cfg.IPFS.NodeMultiaddress = "kubo", kuboAPI
	})
	clientRepo := t.TempDir()
	ipfs := func(api string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--api", api}, args...)...)
		cmd.Env = append(os.Environ(), "IPFS_PATH="+clientRepo)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("ipfs --api %s %s: %v\n%s%s", api, strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}
	proxy := p.IPFSProxyAddr()

	// Forwarded: Kubo's own id.
	kuboID := strings.TrimSpace(ipfs(kuboAPI, "id", "-f", "<id>"))
	if got := strings.TrimSpace(ipfs(proxy, "id", "-f", "<id>")); got != kuboID {
		t.Fatalf("id through the proxy = %q, Kubo's is %q", got, kuboID)
	}
	// A cluster add: in Kubo (the backend stores it there) and in the cluster's pinset; the
	// tracker then pins it in Kubo.
	file := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(file, []byte("through the proxy to kubo\n"), 0o600)
	c := strings.TrimSpace(ipfs(proxy, "add", "-q", file))
	if _, err := p.PinGet(context.Background(), mustCid(t, c)); err != nil {
		t.Fatalf("added %s not in the cluster's pinset: %v", c, err)
	}
	if got := ipfs(proxy, "cat", c); got != "through the proxy to kubo\n" {
		t.Fatalf("cat (forwarded) = %q", got)
	}
	if !poll.Until(30*time.Second, 100*time.Millisecond, func() bool {
		cmd := exec.Command(bin, "--api", kuboAPI, "pin", "ls", "--type=recursive", c)
		cmd.Env = append(os.Environ(), "IPFS_PATH="+clientRepo)
		return cmd.Run() == nil
	}) {
		t.Fatalf("the cluster never pinned %s in Kubo", c)
	}
	// pin ls through the proxy is the cluster's pinset.
	if ls := ipfs(proxy, "pin", "ls"); !strings.Contains(ls, c+" recursive") {
		t.Fatalf("pin ls = %q", ls)
	}
	// Another forwarded command with a streamed body.
	if out := ipfs(proxy, "block", "stat", c); !strings.Contains(out, c) {
		t.Fatalf("block stat = %q", out)
	}
}
