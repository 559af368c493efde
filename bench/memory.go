package main

// RSS targets of issue 9: a peer's memory is bounded by configuration, not by its pinset.
// With 1M queued pins the daemon stays under 300 MB; with 10M (make bench-10m) under 1 GB.
const (
	targetRSS1M  = 300 << 20
	targetRSS10M = 1 << 30
)

// rssTarget is the RSS target for a single peer holding total queued pins.
func rssTarget(total int) int64 {
	if total <= 1_000_000 {
		return targetRSS1M
	}
	return targetRSS10M
}

// rssTargetText is rssTarget for the table.
func rssTargetText(total int) string {
	if total <= 1_000_000 {
		return "< 300 MB"
	}
	return "< 1 GB"
}
