package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"facegate/internal/config"
	"facegate/internal/store"
	"facegate/internal/web"
	"facegate/pipeline/gallery"
)

// settingsKey is where the page's settings live in the store; the CLI reads
// the threshold from the same record.
const settingsKey = "settings"

// settingsStore keeps the run-time settings: the configuration's values
// until the page changes them, then the stored ones.
type settingsStore struct {
	d  *daemon
	mu sync.Mutex
	s  web.Settings
}

func newSettingsStore(d *daemon) *settingsStore { return &settingsStore{d: d} }

// load reads the stored settings over the configuration's.
func (ss *settingsStore) load() (web.Settings, error) {
	cfg := ss.d.cfg
	s := web.Settings{
		Threshold:       cfg.Recognition.Threshold,
		PresenceTimeout: web.Duration(cfg.Recognition.PresenceTimeout),
		Retention:       web.Duration(cfg.Events.Retention),
		DetectorModel:   cfg.Detector.Model,
	}
	var stored web.Settings
	err := ss.d.store.Setting(settingsKey, &stored)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return s, fmt.Errorf("reading settings: %w", err)
	default:
		if stored.Validate() == nil {
			s = stored
		} else {
			ss.d.log.Warn("stored settings are invalid; using the configuration's")
		}
	}
	ss.mu.Lock()
	ss.s = s
	ss.mu.Unlock()
	return s, nil
}

func (ss *settingsStore) current() web.Settings {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.s
}

// Settings implements web.SettingsStore.
func (ss *settingsStore) Settings(context.Context) (web.Settings, error) { return ss.current(), nil }

// PutSettings persists s and applies it: the threshold and the presence
// timeout at once, retention at the next pruning, a new detector model by
// restarting the cameras' pipelines.
func (ss *settingsStore) PutSettings(ctx context.Context, s web.Settings) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("%w: %v", web.ErrInvalid, err)
	}
	if err := ss.d.gallery.SetPolicy(policyFor(ss.d.cfg, s)); err != nil {
		return fmt.Errorf("%w: %v", web.ErrInvalid, err)
	}
	if err := ss.d.store.PutSetting(settingsKey, s); err != nil {
		return err
	}
	ss.mu.Lock()
	old := ss.s
	ss.s = s
	ss.mu.Unlock()
	ss.d.presence.SetTimeout(time.Duration(s.PresenceTimeout))
	if old.DetectorModel != s.DetectorModel {
		ss.d.cams.setDetector(ctx, s.DetectorModel)
	}
	return nil
}

// policyFor is the naming rule: the calibrated rule, or a fixed threshold
// when the page or the configuration sets one.
func policyFor(cfg config.Config, s web.Settings) gallery.Policy {
	p := gallery.DefaultPolicy()
	if s.Threshold > 0 {
		p.Fixed = float32(s.Threshold)
	} else if cfg.Recognition.Threshold > 0 {
		p.Fixed = float32(cfg.Recognition.Threshold)
	}
	return p
}
