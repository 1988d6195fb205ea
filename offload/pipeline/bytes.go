package pipeline

import "unsafe"

// keySize is the size of Key in bytes.
const keySize = int(unsafe.Sizeof(Key{}))

// bytes views k as a byte slice (for masking; every field is an integer or a
// byte array, so any bit pattern is valid and padding stays zero in practice
// because And and the field setters copy whole structs).
func (k *Key) bytes() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(k)), keySize)
}
