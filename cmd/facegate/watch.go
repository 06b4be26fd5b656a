package main

import "context"

func runWatch(_ context.Context, _ stdio, _ []string) error { return errNotYet }

func runBench(_ context.Context, _ stdio, _ []string) error { return errNotYet }
