package main

import "context"

func runServe(_ context.Context, _ stdio, _ []string) error { return errNotYet }
