package gallery

import "facegate/pipeline/frame"

// Result is the decision for one face.
type Result struct {
	// Known is true when the face is named.
	Known bool `json:"known"`
	// PersonID and Name identify the named person; empty when not Known.
	PersonID string `json:"person_id,omitempty"`
	Name     string `json:"name,omitempty"`
	// Similarity is the cosine similarity to the most similar person
	// (named or not); -1 when nothing could be compared.
	Similarity float32 `json:"similarity"`
	// Nearest is the ID of the most similar person even when not named
	// (for diagnostics; never show it as the face's name).
	Nearest string `json:"nearest,omitempty"`
	// Runner is the similarity of the best other person (-1 when none).
	Runner float32 `json:"runner_up"`
	// Threshold is the similarity that was needed.
	Threshold float32 `json:"threshold"`
	// Ignored is true when the face was nearer to a face marked
	// "not a person" than to anyone enrolled.
	Ignored bool `json:"ignored,omitempty"`
	// Mismatch is true when the embedding came from another model than
	// the gallery's, so nothing was compared.
	Mismatch bool `json:"model_mismatch,omitempty"`
}

// Match names the face with embedding e, or not. It reads only the
// immutable snapshot and allocates nothing.
func (s *Snapshot) Match(e frame.Embedding) Result {
	r := Result{Similarity: -1, Runner: -1, Threshold: s.Threshold()}
	if e.Model != s.model || len(e.Vector) != s.dim {
		r.Mismatch = true
		return r
	}
	var best, runner float32 = -2, -2
	bestOwner := int32(-1)
	vecs, owner := s.vecs, s.owner
	if s.policy.Mode == Centroid {
		vecs, owner = s.cents, s.centOwn
	}
	dim := s.dim
	q := e.Vector[:dim]
	for i, o := range owner {
		sim := dotFast(q, vecs[i*dim:(i+1)*dim])
		switch {
		case sim > best:
			if o != bestOwner {
				runner = best
			}
			best, bestOwner = sim, o
		case sim > runner && o != bestOwner:
			runner = sim
		}
	}
	if bestOwner < 0 {
		return r
	}
	p := &s.people[bestOwner]
	r.Similarity, r.Nearest = best, p.ID
	if runner > -2 {
		r.Runner = runner
	}
	if best < r.Threshold || (s.policy.Margin > 0 && r.Runner >= 0 && best-r.Runner < s.policy.Margin) {
		return r
	}
	for i := 0; i < len(s.ign); i += dim {
		if sim := dotFast(q, s.ign[i:i+dim]); sim >= r.Threshold && sim >= best {
			r.Ignored = true
			return r
		}
	}
	r.Known, r.PersonID, r.Name = true, p.ID, p.Name
	return r
}

// dot is the dot product of two equally long vectors (cosine similarity of
// L2-normalised ones). Eight independent accumulators keep the FP adders
// busy; the re-slicing lets the compiler drop bounds checks.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		aa, bb := a[i:i+8:i+8], b[i:i+8:i+8]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
		s4 += aa[4] * bb[4]
		s5 += aa[5] * bb[5]
		s6 += aa[6] * bb[6]
		s7 += aa[7] * bb[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}
