package rtc

import (
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// slogFactory feeds pion's leveled loggers into slog, so pion's warnings
// land in the journal with the rest (and trace chatter stays out).
type slogFactory struct{ log *slog.Logger }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLogger{f.log.With("pion", scope)}
}

type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Trace(string)          {}
func (l slogLogger) Tracef(string, ...any) {}
func (l slogLogger) Debug(m string)        { l.log.Debug(m) }
func (l slogLogger) Debugf(f string, a ...any) {
	l.log.Debug(fmt.Sprintf(f, a...))
}
func (l slogLogger) Info(m string)            { l.log.Info(m) }
func (l slogLogger) Infof(f string, a ...any) { l.log.Info(fmt.Sprintf(f, a...)) }
func (l slogLogger) Warn(m string)            { l.log.Warn(m) }
func (l slogLogger) Warnf(f string, a ...any) { l.log.Warn(fmt.Sprintf(f, a...)) }
func (l slogLogger) Error(m string)           { l.log.Error(m) }
func (l slogLogger) Errorf(f string, a ...any) {
	l.log.Error(fmt.Sprintf(f, a...))
}
