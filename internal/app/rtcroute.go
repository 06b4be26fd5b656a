package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"facegate/internal/rtc"
	"facegate/internal/web"
)

// ownerOf names a login session for the WebRTC manager: the hex SHA-256 of
// its token, which is also what the store keys sessions by, so logout can
// close the session's peers.
func ownerOf(tokenHash []byte) string { return hex.EncodeToString(tokenHash) }

// requestOwner is the session (cookie) or API token (bearer) a request
// carries; the web server has already checked it.
func requestOwner(r *http.Request) string {
	if c, err := r.Cookie(web.SessionCookie); err == nil && c.Value != "" {
		h := sha256.Sum256([]byte(c.Value))
		return ownerOf(h[:])
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		h := sha256.Sum256([]byte(tok))
		return ownerOf(h[:])
	}
	return ""
}

type offerRequest struct {
	Kind   string `json:"kind"`
	Camera string `json:"camera"`
	SDP    string `json:"sdp"`
}

// handleOffer is POST /api/rtc/offer, mounted behind the login and Origin
// checks: a complete SDP offer in, a complete answer out.
func (d *daemon) handleOffer(w http.ResponseWriter, r *http.Request) {
	var req offerRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 256<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		web.WriteError(w, http.StatusBadRequest, "malformed offer: "+err.Error())
		return
	}
	ans, err := d.rtc.Offer(r.Context(), rtc.Offer{Owner: requestOwner(r), Kind: req.Kind, Camera: req.Camera, SDP: req.SDP})
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ans)
	case errors.Is(err, rtc.ErrBadOffer):
		web.WriteError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, rtc.ErrNoCamera):
		web.WriteError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, rtc.ErrTooManyPeers), errors.Is(err, rtc.ErrClosed):
		web.WriteError(w, http.StatusServiceUnavailable, err.Error())
	default:
		d.log.Warn("webrtc offer", "err", err)
		web.WriteError(w, http.StatusInternalServerError, "could not set up the video session")
	}
}
