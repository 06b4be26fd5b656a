package main

import "context"

func runEnroll(_ context.Context, _ stdio, _ []string) error { return errNotYet }

func runIdentify(_ context.Context, _ stdio, _ []string) error { return errNotYet }

func runPeople(_ context.Context, _ stdio, _ []string) error { return errNotYet }

func runRename(_ context.Context, _ stdio, _ []string) error { return errNotYet }

func runForget(_ context.Context, _ stdio, _ []string) error { return errNotYet }

func runBackup(_ context.Context, _ stdio, _ []string) error { return errNotYet }

func runRestore(_ context.Context, _ stdio, _ []string) error { return errNotYet }
