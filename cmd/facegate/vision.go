package main

import "context"

func runDetect(_ context.Context, _ stdio, _ []string) error { return errNotYet }

func runEmbed(_ context.Context, _ stdio, _ []string) error { return errNotYet }

func runCompare(_ context.Context, _ stdio, _ []string) error { return errNotYet }
