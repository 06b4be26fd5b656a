// Package rtc carries cameras over WebRTC: a browser's camera sent to the
// daemon (a pipeline source per session) and the device camera's live view
// sent to browsers, with per-frame results on a DataChannel. Only
// internal/app imports it; signalling arrives through the web API.
package rtc
