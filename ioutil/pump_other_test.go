//go:build !linux

package ioutil

func runtimeCannotTell() bool { return true }
