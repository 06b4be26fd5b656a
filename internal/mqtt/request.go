package mqtt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register decoders: requests carry JPEG or PNG
	_ "image/png"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"facegate/pipeline/gallery"
)

// Request operations, the last level of <base>/request/<op>.
const (
	OpRegister = "register"
	OpDelete   = "delete"
	OpRename   = "rename"
	OpList     = "list"
	OpIgnore   = "ignore"
	OpHealth   = "health"
)

// maxImagePixels bounds the decoded size of a registered image, so a small
// file cannot expand into gigabytes in the gallery's decoder.
const maxImagePixels = 40_000_000

// maxNameLen is the longest name the gallery accepts, in characters.
const maxNameLen = gallery.MaxNameRunes

// request is one request waiting for the worker.
type request struct {
	op      string
	payload []byte
	ack     func() // acknowledges the MQTT message once handled (nil for internal requests)

	tooLarge int  // the payload's size when it exceeded MaxPayload (the payload itself is not kept)
	retained bool // arrived as a retained message: refused, it would run again at every connection

	fromHA bool   // pressed in Home Assistant: register from the camera
	haName string // the name typed in Home Assistant
}

// response is the payload of <base>/response/<op>. Every field is always
// present so that consumers can rely on the shape.
type response struct {
	Transaction json.RawMessage `json:"transaction"`
	Status      string          `json:"status"`
	Error       *string         `json:"error"`
	Data        any             `json:"data"`
}

// MarshalJSON writes null for an absent transaction.
func (r response) MarshalJSON() ([]byte, error) {
	type plain response
	p := plain(r)
	if len(p.Transaction) == 0 {
		p.Transaction = json.RawMessage("null")
	}
	return json.Marshal(p)
}

// requestBody is every field any request may carry. Unknown fields are
// ignored (home-automation tools add their own), wrong types are errors.
type requestBody struct {
	Transaction json.RawMessage `json:"transaction"`
	Name        *string         `json:"name"`
	Image       *string         `json:"image"`
	From        *string         `json:"from"`
	Camera      *string         `json:"camera"`
	PersonID    *string         `json:"person_id"`
	Timeout     *float64        `json:"timeout"` // seconds, register from:camera
}

// personJSON is a person in responses and on <base>/people.
type personJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Samples int    `json:"samples"`
}

func toJSON(p Person) personJSON { return personJSON{ID: p.ID, Name: p.Name, Samples: p.Samples} }

// worker answers requests one at a time, in order. It is the only goroutine
// that changes the gallery on behalf of MQTT.
func (b *Bridge) worker(ctx context.Context) {
	for {
		select {
		case r := <-b.reqs:
			b.serve(ctx, r)
			b.queuedBytes.Add(-int64(len(r.payload)))
		case <-ctx.Done():
			return
		}
	}
}

// serve handles one request and always publishes a response, whatever
// happens (a panic in the gallery included).
func (b *Bridge) serve(ctx context.Context, r request) {
	op := responseOp(r.op)
	var tx json.RawMessage
	if !r.fromHA {
		tx = transactionOf(r.payload)
	} else {
		tx = json.RawMessage(`"homeassistant"`)
	}
	data, err := func() (data any, err error) {
		defer func() {
			if p := recover(); p != nil {
				b.log.Error("mqtt request panicked", "op", r.op, "panic", p)
				err = errors.New("internal error")
			}
		}()
		return b.handle(ctx, r)
	}()
	resp := response{Transaction: tx, Status: "ok", Data: data}
	if err != nil {
		msg := err.Error()
		resp = response{Transaction: tx, Status: "error", Error: &msg}
	}
	b.requests.Add(1)
	b.send(ctx, b.t.response(op), mustJSON(resp), false)
	if r.ack != nil {
		r.ack()
	}
}

// handle validates a request completely before it touches the gallery, so a
// bad request changes nothing.
func (b *Bridge) handle(ctx context.Context, r request) (any, error) {
	if r.fromHA {
		name, err := cleanName(r.haName)
		if err != nil {
			return nil, fmt.Errorf("type a name into the facegate name field first: %w", err)
		}
		return b.registerCamera(ctx, name, b.opts.Camera, b.opts.CameraTimeout)
	}
	switch r.op {
	case OpRegister, OpDelete, OpRename, OpList, OpIgnore, OpHealth:
	default:
		return nil, fmt.Errorf("unknown request %q; use register, delete, rename, list, ignore or health", r.op)
	}
	if r.retained {
		return nil, errors.New("retained request ignored: publish requests without the retain flag (clear it with an empty retained message)")
	}
	if r.tooLarge > 0 || len(r.payload) > MaxPayload {
		return nil, fmt.Errorf("payload too large: %d bytes; the limit is %d bytes (8 MiB)", max(r.tooLarge, len(r.payload)), MaxPayload)
	}
	var body requestBody
	if len(bytes.TrimSpace(r.payload)) > 0 || r.op == OpRegister || r.op == OpDelete || r.op == OpRename {
		if err := strictJSON(r.payload, &body); err != nil {
			return nil, err
		}
	}
	switch r.op {
	case OpList:
		people, err := b.gallery.People(ctx)
		if err != nil {
			return nil, err
		}
		return peopleJSON(people), nil
	case OpHealth:
		h, err := b.gallery.Health(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"mqtt": b.Stats(), "daemon": h}, nil
	case OpIgnore:
		if err := b.gallery.IgnoreLastUnknown(ctx); err != nil {
			return nil, err
		}
		return map[string]any{}, nil
	case OpRegister:
		return b.register(ctx, body)
	case OpDelete:
		return b.delete(ctx, body)
	case OpRename:
		return b.rename(ctx, body)
	}
	return nil, nil
}

func (b *Bridge) register(ctx context.Context, body requestBody) (any, error) {
	if body.Name == nil {
		return nil, errors.New(`missing "name"`)
	}
	name, err := cleanName(*body.Name)
	if err != nil {
		return nil, err
	}
	switch {
	case body.Image != nil && body.From != nil:
		return nil, errors.New(`give either "image" or "from":"camera", not both`)
	case body.From != nil:
		if *body.From != "camera" {
			return nil, fmt.Errorf(`"from" must be "camera", not %q`, *body.From)
		}
		camera := b.opts.Camera
		if body.Camera != nil {
			camera = *body.Camera
		}
		timeout := b.opts.CameraTimeout
		if body.Timeout != nil {
			if *body.Timeout <= 0 || *body.Timeout > 60 {
				return nil, errors.New(`"timeout" must be between 0 and 60 seconds`)
			}
			timeout = time.Duration(*body.Timeout * float64(time.Second))
		}
		return b.registerCamera(ctx, name, camera, timeout)
	case body.Image != nil:
		img, err := decodeImage(*body.Image)
		if err != nil {
			return nil, err
		}
		p, err := b.gallery.RegisterImage(ctx, name, img)
		if err != nil {
			return nil, err
		}
		signal(b.peopleDirty)
		return toJSON(p), nil
	}
	return nil, errors.New(`missing "image" (base64 JPEG or PNG) or "from":"camera"`)
}

func (b *Bridge) registerCamera(ctx context.Context, name, camera string, timeout time.Duration) (any, error) {
	p, err := b.gallery.RegisterFromCamera(ctx, camera, name, timeout)
	if err != nil {
		return nil, err
	}
	signal(b.peopleDirty)
	return toJSON(p), nil
}

func (b *Bridge) delete(ctx context.Context, body requestBody) (any, error) {
	id, err := b.resolve(ctx, body)
	if err != nil {
		return nil, err
	}
	p, err := b.gallery.Delete(ctx, id)
	if err != nil {
		return nil, err
	}
	signal(b.peopleDirty)
	return toJSON(p), nil
}

func (b *Bridge) rename(ctx context.Context, body requestBody) (any, error) {
	if body.PersonID == nil || *body.PersonID == "" {
		return nil, errors.New(`missing "person_id"`)
	}
	if body.Name == nil {
		return nil, errors.New(`missing "name"`)
	}
	name, err := cleanName(*body.Name)
	if err != nil {
		return nil, err
	}
	if _, err := b.find(ctx, func(p Person) bool { return p.ID == *body.PersonID }); err != nil {
		return nil, fmt.Errorf("no person with id %q", *body.PersonID)
	}
	p, err := b.gallery.Rename(ctx, *body.PersonID, name)
	if err != nil {
		return nil, err
	}
	signal(b.peopleDirty)
	return toJSON(p), nil
}

// resolve finds the person a delete means: by id or by name, not both.
func (b *Bridge) resolve(ctx context.Context, body requestBody) (string, error) {
	switch {
	case body.PersonID != nil && body.Name != nil:
		return "", errors.New(`give "person_id" or "name", not both`)
	case body.PersonID != nil:
		id := *body.PersonID
		if id == "" {
			return "", errors.New(`"person_id" is empty`)
		}
		if _, err := b.find(ctx, func(p Person) bool { return p.ID == id }); err != nil {
			return "", fmt.Errorf("no person with id %q", id)
		}
		return id, nil
	case body.Name != nil:
		name, err := cleanName(*body.Name)
		if err != nil {
			return "", err
		}
		p, err := b.find(ctx, func(p Person) bool { return norm.NFC.String(p.Name) == name })
		if err != nil {
			return "", fmt.Errorf("no person named %q", name)
		}
		return p.ID, nil
	}
	return "", errors.New(`missing "person_id" or "name"`)
}

// responseOp is the topic level a response goes to: the request's op, or
// "invalid" when the op is unusable in a topic.
func responseOp(op string) string {
	if !validID(op) {
		return "invalid"
	}
	return op
}

var errNotFound = errors.New("not found")

func (b *Bridge) find(ctx context.Context, match func(Person) bool) (Person, error) {
	people, err := b.gallery.People(ctx)
	if err != nil {
		return Person{}, err
	}
	for _, p := range people {
		if match(p) {
			return p, nil
		}
	}
	return Person{}, errNotFound
}

// strictJSON decodes one JSON object and refuses trailing data and wrong
// types with a message that says what is wrong.
func strictJSON(payload []byte, v *requestBody) error {
	if len(bytes.TrimSpace(payload)) == 0 {
		return errors.New("empty payload: send a JSON object")
	}
	if !utf8.Valid(payload) {
		return errors.New("payload is not valid UTF-8 JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			if typeErr.Field == "" {
				return fmt.Errorf("the request must be a JSON object, not a JSON %s", typeErr.Value)
			}
			return fmt.Errorf("field %q must be a %s, not a JSON %s", typeErr.Field, kindOf(typeErr.Type.String()), typeErr.Value)
		}
		return fmt.Errorf("malformed JSON: %v", err)
	}
	if dec.More() {
		return errors.New("malformed JSON: data after the object")
	}
	return nil
}

func kindOf(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "string":
		return "string"
	case "float64":
		return "number"
	case "mqtt.requestBody":
		return "JSON object"
	}
	return goType
}

// transactionOf extracts the transaction to echo, even from a request that
// is otherwise invalid; it gives null when there is none or it is too big.
func transactionOf(payload []byte) json.RawMessage {
	if len(payload) == 0 || len(payload) > MaxPayload {
		return nil
	}
	var t struct {
		Transaction json.RawMessage `json:"transaction"`
	}
	if json.Unmarshal(payload, &t) != nil || len(t.Transaction) > 256 {
		return nil
	}
	return t.Transaction
}

// cleanName is the gallery's own name rule (trimmed, NFC, 1–64 characters,
// no control or invisible characters), checked before anything changes, so
// the name stored is the name every later message repeats byte for byte.
func cleanName(s string) (string, error) {
	return gallery.NormalizeName(s)
}

// decodeImage checks a base64 JPEG or PNG (a data: URL prefix is accepted)
// without decoding its pixels: the format and a sane size.
func decodeImage(s string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		_, after, found := strings.Cut(rest, ",")
		if !found {
			return nil, errors.New(`"image": malformed data: URL`)
		}
		s = after
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New(`"image" is empty`)
	}
	if base64.StdEncoding.DecodedLen(len(s)) > MaxPayload {
		return nil, fmt.Errorf(`"image" too large; the limit is %d bytes`, MaxPayload)
	}
	img, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		img, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if err != nil {
		return nil, fmt.Errorf(`"image" is not valid base64: %v`, err)
	}
	isJPEG := bytes.HasPrefix(img, []byte{0xff, 0xd8, 0xff})
	isPNG := bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n"))
	if !isJPEG && !isPNG {
		return nil, errors.New(`"image" is neither a JPEG nor a PNG`)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		return nil, fmt.Errorf(`"image" is a damaged %s: %v`, formatName(isJPEG), err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxImagePixels {
		return nil, fmt.Errorf(`"image" is %dx%d; at most %d pixels`, cfg.Width, cfg.Height, maxImagePixels)
	}
	_ = format
	return img, nil
}

func formatName(jpeg bool) string {
	if jpeg {
		return "JPEG"
	}
	return "PNG"
}

func peopleJSON(people []Person) []personJSON {
	out := make([]personJSON, 0, len(people))
	for _, p := range people {
		out = append(out, toJSON(p))
	}
	return out
}

// mustJSON marshals values the bridge builds itself; they always marshal.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"status":"error","error":"internal: cannot encode response"}`)
	}
	return b
}
