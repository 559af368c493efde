package passgate

import (
	"context"
	"testing"
	"time"
)

// TestOneAtATime: a second pass waits for the first to leave, or gives up with its context;
// the nil gate admits everyone.
func TestOneAtATime(t *testing.T) {
	g := New()
	leave, err := g.Enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.Enter(ctx); err == nil {
		t.Fatal("a second pass entered while the first ran")
	}
	entered := make(chan func())
	go func() {
		l, err := g.Enter(context.Background())
		if err == nil {
			entered <- l
		}
	}()
	leave()
	select {
	case l := <-entered:
		l()
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting pass did not enter once the first left")
	}
	var open Gate
	l1, _ := open.Enter(context.Background())
	l2, err := open.Enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l1()
	l2()
}
