package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

// TestBadCARIsInvalid: a bad CAR is the caller's mistake (400) whichever backend finds it.
func TestBadCARIsInvalid(t *testing.T) {
	err := fmt.Errorf("%w: the CAR has 2 roots", ErrBadCAR)
	if !errors.Is(err, ErrBadCAR) || !errors.Is(err, ErrInvalid) || HTTPStatus(err) != http.StatusBadRequest {
		t.Fatalf("%v: is ErrBadCAR %v, ErrInvalid %v, status %d", err, errors.Is(err, ErrBadCAR), errors.Is(err, ErrInvalid), HTTPStatus(err))
	}
	if err.Error() != "bad CAR: the CAR has 2 roots" {
		t.Fatalf("message: %q", err)
	}
}
