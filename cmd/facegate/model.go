package main

import "context"

func runModel(_ context.Context, _ stdio, _ []string) error { return errNotYet }
