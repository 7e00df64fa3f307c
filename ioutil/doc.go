// Package ioutil holds sockcat's byte-stream plumbing: the half-closing pump,
// line and CRLF transforms, and the size and duration parsers. It knows
// nothing of flags, policy or the process's standard streams.
//
// It is unrelated to the deprecated standard library package io/ioutil.
package ioutil
