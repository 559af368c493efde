package api

import "fmt"

// FactorNames are the names of the two replication factors in error messages, so that each
// edge names the option its user typed: a JSON key, a REST parameter or a CLI flag.
type FactorNames struct{ Min, Max string }

var (
	// FactorKeys are the JSON keys of PinOptions (and of the cluster config section).
	FactorKeys = FactorNames{Min: "replication_factor_min", Max: "replication_factor_max"}
	// FactorParams are the REST query parameters (PinOptionsFromQuery).
	FactorParams = FactorNames{Min: "replication-min", Max: "replication-max"}
)

// CheckReplication is the one rule on a pair of replication factors, wherever they come from
// (CLI flags, REST parameters, a stored pin, the allocator's input, the config defaults):
//
//   - each factor is -1 (every peer), 0 (unset: ApplyDefaults fills it from the cluster
//     defaults) or positive;
//   - -1 and a positive factor do not mix (every peer has no minimum or maximum);
//   - when both are positive, min is not greater than max.
//
// Options that passed it keep passing after ApplyDefaults with defaults that passed it and are
// not 0, except that a given -1 meets a positive default (or the reverse), which it reports
// then. The error is plain text naming the factors by n; PinOptions.Validate wraps it in
// ErrInvalid.
func CheckReplication(mn, mx int, n FactorNames) error {
	switch {
	case mn < -1:
		return fmt.Errorf("%s (%d) must be -1 (every peer) or positive", n.Min, mn)
	case mx < -1:
		return fmt.Errorf("%s (%d) must be -1 (every peer) or positive", n.Max, mx)
	case (mn == -1 && mx > 0) || (mx == -1 && mn > 0):
		return fmt.Errorf("%s and %s must both be -1 (every peer) or both positive, got %d and %d", n.Min, n.Max, mn, mx)
	case mn > 0 && mx > 0 && mn > mx:
		return fmt.Errorf("%s (%d) is greater than %s (%d)", n.Min, mn, n.Max, mx)
	}
	return nil
}

// Validate checks the limits on name and metadata (ValidateLimits) and the replication factors
// (CheckReplication, naming the JSON keys). Errors wrap ErrInvalid. The peer calls it after
// ApplyDefaults; the allocator calls it on its input.
func (o PinOptions) Validate() error {
	if err := o.ValidateLimits(); err != nil {
		return err
	}
	return o.validateReplication(FactorKeys)
}

// validateReplication is CheckReplication on o's factors, wrapped in ErrInvalid.
func (o PinOptions) validateReplication(n FactorNames) error {
	if err := CheckReplication(o.ReplicationFactorMin, o.ReplicationFactorMax, n); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}
