package main

import "errors"

// errNotYet is returned by subcommands whose implementation has not landed.
var errNotYet = errors.New("not implemented yet")
