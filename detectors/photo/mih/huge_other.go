//go:build !linux

package mih

import "unsafe"

func adviseHuge(p unsafe.Pointer, size uintptr) {}
