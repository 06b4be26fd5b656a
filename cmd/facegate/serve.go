package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"facegate/device/board"
	"facegate/internal/app"
	"facegate/internal/config"
)

// runServe runs the daemon until SIGTERM or Ctrl-C.
func runServe(ctx context.Context, s stdio, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(s.err)
	path := fs.String("config", "", "YAML configuration file (defaults, then this file, then FACEGATE_* variables)")
	check := fs.Bool("check-config", false, "validate the configuration and exit")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(s.err, "usage: facegate serve [--config FILE] [--check-config]")
		return errUsage
	}
	cfg, err := config.Load(*path, os.Getenv)
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintln(s.out, "configuration OK")
		return nil
	}
	level := new(slog.LevelVar)
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	log := newLogger(s, level, config.UnderSystemd(os.Getenv))
	if os.Geteuid() == 0 {
		log.Warn("running as root; the service runs as its own user (see systemd/facegate.service)")
	}
	notifier := board.NotifierFromEnv()
	defer notifier.Close()
	// SIGHUP re-reads the file; the daemon applies what is safe to change.
	reload := make(chan config.Config)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	hupCtx, stopHup := context.WithCancel(ctx)
	defer stopHup()
	go func() {
		for {
			select {
			case <-hupCtx.Done():
				return
			case <-hup:
				c, err := config.Load(*path, os.Getenv)
				if err != nil {
					log.Error("SIGHUP: configuration not reloaded", "err", err)
					continue
				}
				select {
				case reload <- c:
				case <-hupCtx.Done():
					return
				}
			}
		}
	}()
	return app.Run(ctx, app.Options{Config: cfg, Version: version, Log: log, Getenv: os.Getenv,
		Notifier: notifier, Reload: reload, Level: level})
}

// newLogger writes text to a terminal and JSON under systemd, where the
// journal keeps the fields.
func newLogger(s stdio, level *slog.LevelVar, underSystemd bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if underSystemd {
		return slog.New(slog.NewJSONHandler(s.err, opts))
	}
	return slog.New(slog.NewTextHandler(s.err, opts))
}
