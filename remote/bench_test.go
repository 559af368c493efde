package remote

import (
	"context"
	"testing"
)

// BenchmarkRequest measures one request/reply round trip between two peers on loopback.
func BenchmarkRequest(b *testing.B) {
	pa, pb := pair(b, Config{})
	to := pa.r.PID(pb.h.ID(), "echo")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pa.r.Request(ctx, to, &ping{Text: "x"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestParallel measures request throughput with many concurrent callers.
func BenchmarkRequestParallel(b *testing.B) {
	pa, pb := pair(b, Config{})
	to := pa.r.PID(pb.h.ID(), "echo")
	ctx := context.Background()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(p *testing.PB) {
		for p.Next() {
			if _, err := pa.r.Request(ctx, to, &ping{Text: "x"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
