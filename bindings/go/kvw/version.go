package kvw

import (
	"strconv"
	"strings"

	native "github.com/kvw/kvw/bindings/go/internal/kvw_native"
)

// Version is an opaque version token: for NATS the KV revision of a write
// (the stream sequence, increasing across the whole bucket). It is a small
// comparable value; the zero Version is "unknown". Its text form (String,
// ParseVersion, MarshalText) is kvw's stable one, the same in every language
// and in the C API: "42", "unknown", or "x:<hex>" for a non-NATS token.
type Version struct {
	text string // canonical text; "" = unknown
}

// VersionFromRevision is the version of NATS revision rev (0 gives the
// unknown version: NATS has no revision 0).
func VersionFromRevision(rev uint64) Version {
	if rev == 0 {
		return Version{}
	}
	return Version{strconv.FormatUint(rev, 10)}
}

// ParseVersion parses the text form back; ErrInvalidVersion for malformed text.
func ParseVersion(s string) (Version, error) {
	if rev, err := strconv.ParseUint(s, 10, 64); err == nil && s == strconv.FormatUint(rev, 10) {
		return VersionFromRevision(rev), nil
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Version{}, refusal(codeBadVersion, "parse version", "", "version text contains a NUL byte")
	}
	if rc := native.Kvwb_version_check(s); rc != 0 {
		return Version{}, refusal(rc, "parse version", "", "malformed version text "+strconv.Quote(s))
	}
	if native.Kvwb_version_is_unknown(s) == 1 {
		return Version{}, nil
	}
	if rev := native.Kvwb_version_revision(s); rev > 0 {
		return VersionFromRevision(uint64(rev)), nil // "007" -> "7"
	}
	return Version{s}, nil
}

// MustParseVersion is ParseVersion that panics on malformed text (for tests
// and constants).
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// String is the stable text form ("42", "unknown").
func (v Version) String() string {
	if v.text == "" {
		return "unknown"
	}
	return v.text
}

// IsUnknown reports whether v is the unknown version.
func (v Version) IsUnknown() bool { return v.text == "" }

// Revision is the NATS revision, or 0 for the unknown version and for a
// token that is not a NATS revision.
func (v Version) Revision() uint64 {
	rev, err := strconv.ParseUint(v.text, 10, 64)
	if err != nil {
		return 0
	}
	return rev
}

// Equal reports whether v and o name the same token (two unknown versions
// are equal). Versions are also comparable with ==.
func (v Version) Equal(o Version) bool {
	if v.text == o.text {
		return true
	}
	if v.Revision() != 0 || o.Revision() != 0 || v.text == "" || o.text == "" {
		return false
	}
	return native.Kvwb_version_equal(v.text, o.text) == 1
}

// MarshalText implements encoding.TextMarshaler (the String form).
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (ParseVersion).
func (v *Version) UnmarshalText(b []byte) error {
	p, err := ParseVersion(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// versionOf turns a completion's revision / version text into a Version.
func versionOf(rev int64, text func() string) Version {
	if rev > 0 {
		return Version{strconv.FormatInt(rev, 10)}
	}
	t := text()
	if t == "" || t == "unknown" {
		return Version{}
	}
	v, err := ParseVersion(t)
	if err != nil {
		return Version{}
	}
	return v
}
