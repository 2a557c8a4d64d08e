// Package sdk is the Go guest SDK for Berth scheduling policies. A policy is
// a main package that registers a function and is built as a WASI reactor:
//
//	package main
//
//	import (
//		"github.com/berth-dev/berth/policies/abi"
//		"github.com/berth-dev/berth/policies/sdk"
//	)
//
//	func init() { sdk.Register(decide) }
//
//	func decide(b *abi.Batch) (*abi.Decision, error) { ... }
//
//	func main() {}
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w' -o policy.wasm .
//
// On GOOS=wasip1 the package exports berth_abi_version, berth_alloc and
// berth_schedule (see docs/policy-abi.md); on other platforms it only
// provides Register and Handle, so policies can be unit-tested natively.
package sdk

import (
	"strconv"

	"github.com/berth-dev/berth/policies/abi"
)

// Func decides one batch. Returning an error makes the host report it
// (and fall back to the group's last good policy).
type Func func(b *abi.Batch) (*abi.Decision, error)

// policy is the registered function. A Wasm guest has exactly one policy
// per module, so a package variable is the natural home for it.
var policy Func

// Register installs fn as the module's policy. Call it from init or main.
func Register(fn Func) { policy = fn }

// Handle decodes an encoded batch, runs the registered policy and returns
// the encoded decision, or an encoded error report if decoding fails, no
// policy is registered, the policy fails or panics.
func Handle(in []byte) (out []byte) {
	defer func() {
		if r := recover(); r != nil {
			out = abi.EncodeError("policy panicked: " + panicString(r))
		}
	}()
	if policy == nil {
		return abi.EncodeError("no policy registered (call sdk.Register)")
	}
	b, err := abi.DecodeBatch(in)
	if err != nil {
		return abi.EncodeError("decoding batch: " + err.Error())
	}
	d, err := policy(b)
	if err != nil {
		return abi.EncodeError(err.Error())
	}
	if d == nil {
		d = &abi.Decision{Cursor: b.Cursor}
	}
	return abi.EncodeDecision(d)
}

func panicString(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	}
	return "non-string panic value"
}
