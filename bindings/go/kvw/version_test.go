package kvw_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/kvw/kvw/bindings/go/kvw"
)

func TestVersionText(t *testing.T) {
	var unknown kvw.Version
	if unknown.String() != "unknown" || !unknown.IsUnknown() || unknown.Revision() != 0 {
		t.Fatal("zero Version is unknown")
	}
	v := kvw.VersionFromRevision(42)
	if v.String() != "42" || v.Revision() != 42 || v.IsUnknown() {
		t.Fatalf("%v", v)
	}
	if kvw.VersionFromRevision(0) != unknown {
		t.Fatal("revision 0 is unknown")
	}
	max := kvw.VersionFromRevision(^uint64(0))
	for _, tc := range []struct {
		text string
		want kvw.Version
	}{
		{"42", v}, {"1", kvw.VersionFromRevision(1)}, {"unknown", unknown},
		{"18446744073709551615", max},
	} {
		got, err := kvw.ParseVersion(tc.text)
		if err != nil || got != tc.want || !got.Equal(tc.want) || got.String() != tc.text {
			t.Fatalf("ParseVersion(%q) = %v, %v", tc.text, got, err)
		}
	}
	foreign, err := kvw.ParseVersion("x:ab01ff")
	if err != nil || foreign.String() != "x:ab01ff" || foreign.Revision() != 0 || foreign.IsUnknown() {
		t.Fatalf("%v %v", foreign, err)
	}
	if !foreign.Equal(kvw.MustParseVersion("x:ab01ff")) || foreign.Equal(v) || v.Equal(foreign) || foreign.Equal(unknown) {
		t.Fatal("equality of foreign tokens")
	}
	for _, junk := range []string{"", " ", "abc", "-1", "+1", "42x", " 42", "42 ", "0x2a", "1e3",
		"18446744073709551616", "x:", "x:zz", "x:abc", "X:ab", "unknownx", "Unknown", "4\x002",
		"x:00112233445566778899aabbccddeeff"} {
		_, err := kvw.ParseVersion(junk)
		if !errors.Is(err, kvw.ErrInvalidVersion) {
			t.Fatalf("ParseVersion(%q): %v", junk, err)
		}
	}
	// Versions survive JSON (TextMarshaler) and are comparable map keys.
	b, err := json.Marshal(map[string]kvw.Version{"a": v, "b": unknown})
	if err != nil || string(b) != `{"a":"42","b":"unknown"}` {
		t.Fatalf("%s %v", b, err)
	}
	var back map[string]kvw.Version
	if err := json.Unmarshal(b, &back); err != nil || back["a"] != v || back["b"] != unknown {
		t.Fatalf("%v %v", back, err)
	}
}

func TestErrors(t *testing.T) {
	sentinels := map[int]error{
		-1: kvw.ErrInvalid, -2: kvw.ErrInvalidKey, -3: kvw.ErrInvalidBucketName, -4: kvw.ErrInvalidVersion,
		-5: kvw.ErrTooBig, -6: kvw.ErrAlreadyExists, -7: kvw.ErrConflict, -8: kvw.ErrNotFound,
		-9: kvw.ErrTimeout, -10: kvw.ErrNotConnected, -11: kvw.ErrNoBucket, -12: kvw.ErrFull,
		-13: kvw.ErrClosed, -14: kvw.ErrBusy, -15: kvw.ErrNoMemory, -16: kvw.ErrAuth,
		-17: kvw.ErrPermission, -18: kvw.ErrTLS, -19: kvw.ErrServer, -20: kvw.ErrInternal,
	}
	for code, s := range sentinels {
		e := &kvw.Error{Code: code, Op: "put", Key: "k", Message: "m"}
		if !errors.Is(e, s) {
			t.Fatalf("code %d is not %v", code, s)
		}
		for other, s2 := range sentinels {
			if other != code && errors.Is(e, s2) {
				t.Fatalf("code %d is also %v", code, s2)
			}
		}
		wrapped := errors.Join(errors.New("context"), e)
		var ke *kvw.Error
		if !errors.Is(wrapped, s) || !errors.As(wrapped, &ke) || ke.Code != code {
			t.Fatalf("wrapped %d", code)
		}
		retry := code == -9 || code == -10 || code == -14
		if kvw.IsRetryable(e) != retry {
			t.Fatalf("IsRetryable(%s) = %v", e.Name(), !retry)
		}
		unknown := code == -9 || code == -13
		if kvw.IsOutcomeUnknown(e) != unknown {
			t.Fatalf("IsOutcomeUnknown(%s) = %v", e.Name(), !unknown)
		}
	}
	e := &kvw.Error{Code: -7, Op: "update", Key: "k", Message: "wrong last sequence", ServerError: 10071}
	if got := e.Error(); got != `kvw update "k": wrong last sequence [KVW_ECONFLICT, JetStream 10071]` {
		t.Fatal(got)
	}
	if kvw.IsRetryable(errors.New("x")) || kvw.IsOutcomeUnknown(errors.New("x")) {
		t.Fatal("foreign errors")
	}
	if kvw.LibraryVersion() == "" {
		t.Fatal("library version")
	}
}
