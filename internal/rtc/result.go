package rtc

// Face is one face of a frame result, as the page draws it.
type Face struct {
	Box        [4]float32   `json:"box"` // x, y, w, h in pixels of the frame
	Keypoints  [][2]float32 `json:"keypoints"`
	Track      int          `json:"track"`
	PersonID   string       `json:"person_id,omitempty"`
	Name       *string      `json:"name"` // null when unknown
	Similarity float32      `json:"similarity"`
	Known      bool         `json:"known"`
}

// Result is what the pipeline found in one frame, sent on the DataChannel.
type Result struct {
	Frame uint64 `json:"frame"`
	W     int    `json:"w"`
	H     int    `json:"h"`
	Faces []Face `json:"faces"`
}
