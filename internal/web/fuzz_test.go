package web

import (
	"bytes"
	"mime/multipart"
	"strings"
	"testing"
)

// FuzzVerifyPassword: a stored hash is parsed before use; a malformed one
// must fail cleanly, never panic or verify.
func FuzzVerifyPassword(f *testing.F) {
	f.Add("pw", HashPassword("pw", KDFParams{MemoryKiB: 8, Time: 1, Threads: 1}))
	f.Add("pw", "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("", "$$$$$")
	f.Fuzz(func(t *testing.T, pw, hash string) {
		if strings.Contains(hash, "m=") && !strings.HasPrefix(hash, "$argon2id$v=19$m=8,") {
			// Bound the work a fuzzed memory cost could ask for.
			return
		}
		ok, err := VerifyPassword(pw, hash)
		if ok && err != nil {
			t.Fatal("verified with an error")
		}
	})
}

// FuzzReadEnrollment: uploads are read part by part with limits; any body
// gives photos that passed checkImage, or an error.
func FuzzReadEnrollment(f *testing.F) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.SetBoundary("xyz")
	_ = mw.WriteField("name", "김민수")
	fw, _ := mw.CreateFormFile("photo", "a.jpg")
	_, _ = fw.Write(testJPEG(8, 8, -1))
	_ = mw.Close()
	f.Add(b.Bytes())
	f.Add([]byte("--xyz\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\n\x89PNG\r\n\x1a\n\r\n--xyz--\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		name, photos, err := readEnrollment(multipart.NewReader(bytes.NewReader(body), "xyz"))
		if err != nil {
			return
		}
		if strings.TrimSpace(name) == "" || len(photos) == 0 || len(photos) > MaxPhotos {
			t.Fatalf("accepted name %q with %d photos", name, len(photos))
		}
		for _, p := range photos {
			if checkImage(p) != nil {
				t.Fatal("accepted a photo that fails checkImage")
			}
		}
	})
}
