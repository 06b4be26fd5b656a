package gallery

import (
	"image"

	"facegate/models/blazeface"
	"facegate/models/facenet"
	"facegate/pipeline/frame"
)

// ModelVision is the Vision of the shipped models: BlazeFace finds faces,
// MobileFaceNet embeds them and facenet.Assess is the enrollment quality
// gate. Like its parts it is not safe for concurrent use (the Service
// serialises its calls). The caller owns and closes Det and Emb.
type ModelVision struct {
	Det *blazeface.Detector
	Emb *facenet.Embedder

	aligned facenet.Aligned
}

// Faces finds the faces in img, best first.
func (v *ModelVision) Faces(img image.Image) ([]frame.Face, error) { return v.Det.DetectImage(img) }

// Describe aligns and embeds one face and rates it for enrollment.
func (v *ModelVision) Describe(img image.Image, f frame.Face) (Described, error) {
	e, a, err := v.Emb.EmbedImage(img, f, &v.aligned)
	if err != nil {
		return Described{}, err
	}
	q := facenet.Assess(f, a)
	d := Described{Embedding: e, Face: a.Image(), Quality: q.Score}
	if !q.OK {
		d.Poor = q.Reason
	}
	return d, nil
}

// Model is the embedding model's identity.
func (v *ModelVision) Model() string { return v.Emb.Model() }
