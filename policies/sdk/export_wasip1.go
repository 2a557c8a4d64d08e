//go:build wasip1

package sdk

import (
	"unsafe"

	"github.com/berth-dev/berth/policies/abi"
)

// inBuf and outBuf are the buffers handed to the host. Package-level
// references keep them alive: the guest's garbage collector must not free
// memory the host is about to read or write.
var inBuf, outBuf []byte

//go:wasmexport berth_abi_version
func abiVersion() int32 { return abi.Version }

// alloc returns a buffer of size bytes for the next batch. It replaces the
// previous input buffer, which the host no longer uses.
//
//go:wasmexport berth_alloc
func alloc(size int32) int32 {
	if size <= 0 {
		size = 1
	}
	if cap(inBuf) < int(size) {
		inBuf = make([]byte, size)
	}
	inBuf = inBuf[:size]
	return int32(uintptr(unsafe.Pointer(&inBuf[0])))
}

// schedule decides the batch the host wrote at ptr (which must be the last
// buffer alloc returned) and returns out_ptr<<32 | out_len.
//
//go:wasmexport berth_schedule
func schedule(ptr, size int32) int64 {
	if len(inBuf) == 0 || int32(uintptr(unsafe.Pointer(&inBuf[0]))) != ptr || int(size) > len(inBuf) || size < 0 {
		outBuf = abi.EncodeError("berth_schedule called with a buffer berth_alloc did not return")
	} else {
		outBuf = Handle(inBuf[:size])
	}
	return int64(uint32(uintptr(unsafe.Pointer(&outBuf[0]))))<<32 | int64(len(outBuf))
}
