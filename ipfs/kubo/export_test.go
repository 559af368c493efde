package kubo

import "testing"

// DaemonAddr is the shared test daemon's API multiaddress, for the external tests in this
// directory (it skips the test when PINCLUSTER_KUBO_BIN is not set).
func DaemonAddr(t *testing.T) string { return sharedDaemon(t).apiAddr }
