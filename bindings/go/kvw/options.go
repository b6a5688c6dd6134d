package kvw

import (
	"strings"
	"time"

	native "github.com/kvw/kvw/bindings/go/internal/kvw_native"
)

// DefaultMaxInflight is kvw's default in-flight window per client.
const DefaultMaxInflight = 16384

// NoReconnect as ClientOptions.MaxReconnect turns reconnection off
// (KVW_NO_RECONNECT; 0 means the default).
const NoReconnect = -2

// NoResend as ClientOptions.ResendAfter: every write is sent once, without
// a write id (kvw 0.1's behaviour).
const NoResend time.Duration = -1

// ClientOptions configure Connect. The zero value of every field means kvw's
// default, named in brackets.
type ClientOptions struct {
	Servers         []string      // server URLs [nats://127.0.0.1:4222]
	Name            string        // connection name shown by the server [none]
	User, Password  string        // user/password authentication [none]
	Token           string        // token authentication [none]
	CredentialsFile string        // NATS .creds file (JWT + nkey seed) [none]
	TLSCAFile       string        // CA to verify the server; implies TLS [none]
	TLSCertFile     string        // client certificate, with TLSKeyFile [none]
	TLSKeyFile      string        //
	TLSRequired     bool          // insist on TLS even without a CA file [false]
	ConnectTimeout  time.Duration // per connection attempt [2s]; also capped by Connect's ctx deadline
	OpTimeout       time.Duration // deadline of every op [5s]
	MaxInflight     int           // ops accepted but not yet completed, callbacks included [16384]
	MaxReconnect    int           // reconnect attempts, -1 forever, NoReconnect never [60]
	ReconnectWait   time.Duration // pause between attempts to one server [2s]
	// ResendAfter: every write carries a write id (Nats-Msg-Id); one whose
	// ack has not come after this long (a lost connection, a restart, a
	// leader change) is sent again with the same id until OpTimeout, and the
	// stream stores it once. So writes end with their real outcome, and
	// ErrTimeout only when no answer came in time. NoResend: one send, no id [1s]
	ResendAfter time.Duration
}

// Storage is where a bucket created by kvw keeps its data.
type Storage int

const (
	FileStorage   Storage = 0 // KVW_STORAGE_FILE
	MemoryStorage Storage = 1 // KVW_STORAGE_MEMORY
)

// ReadMode says how a bucket handle's reads see the replicas of a replicated
// bucket (kvw.h, READS).
type ReadMode int

const (
	// ReadChecked: a direct get older than a version this client has already
	// seen for the key is read again through the stream leader, so a read
	// sees every write whose call returned before it, and never goes back.
	ReadChecked ReadMode = 0 // KVW_READ_CHECKED
	// ReadDirect: any replica answers (fastest; may go back in time).
	ReadDirect ReadMode = 1 // KVW_READ_DIRECT
	// ReadLeader: every read goes to the stream leader.
	ReadLeader ReadMode = 2 // KVW_READ_LEADER
)

// BucketOptions configure Client.Bucket. They are only used when the bucket
// is created (CreateIfMissing); an existing bucket opens as it is. The zero
// value of every field means kvw's default, named in brackets.
type BucketOptions struct {
	CreateIfMissing bool          // create the bucket when absent [false]
	History         int           // values kept per key, 1..64 [1]
	MaxAge          time.Duration // entries expire after this, 0 = never [0]
	MaxBytes        int64         // bucket size limit, 0 = unlimited [0]
	MaxValueSize    int           // largest value, 0 = server limit [0]
	Replicas        int           // stream replicas, 1..5 [1]
	Storage         Storage       // [FileStorage]
	// AllowTTL lets keys carry their own TTL (Create/Put/Update/Purge with
	// TTL; nats-server 2.11+, else ErrNotSupported) [false]
	AllowTTL bool
	// LimitMarkerTTL > 0: when a key's last value ages out (MaxAge or its
	// TTL) the server leaves a purge marker that lives this long (nats.go's
	// LimitMarkerTTL). Whole seconds; implies AllowTTL [0]
	LimitMarkerTTL time.Duration
	// DuplicateWindow: how long the stream remembers write ids; kvw resends
	// only within it, so keep it above OpTimeout [30s, or MaxAge when shorter]
	DuplicateWindow time.Duration
	// ReadMode applies to this handle, also for an existing bucket [ReadChecked]
	ReadMode ReadMode
	// AllowAtomic lets the bucket take transactions (Bucket.Txn; stream
	// allow_atomic, nats-server 2.12+, else ErrNotSupported) [false]
	AllowAtomic bool
	// AllowBatched lets the bucket take fast-ingest batches (stream
	// allow_batched, nats-server 2.14+, else ErrNotSupported); used only
	// when the bucket is created [false]
	AllowBatched bool
	// Bulk: this handle's Put, Delete and Purge (and their Async forms) go
	// as fast-ingest batches, for loaders (kvw.h, BULK WRITES): an ack every
	// few hundred writes instead of one per write. A write's Version is
	// exact only for the last write of a batch (else IsUnknown). Needs
	// FeatureFastBatch, else Bucket fails with ErrNotSupported [false]
	Bulk bool
}

// millis converts d to whole milliseconds, rounding a nonzero sub-millisecond
// value away from zero (0 would mean "default"; kvw refuses negatives).
func millis(d time.Duration) int64 {
	ms := d.Milliseconds()
	switch {
	case ms == 0 && d > 0:
		return 1
	case ms == 0 && d < 0:
		return -1
	}
	return ms
}

// setters check every status; the first failure wins.
type setter struct {
	op, key string
	err     *Error
}

func (s *setter) str(name, v string, set func(string) int) {
	if s.err != nil {
		return
	}
	if strings.IndexByte(v, 0) >= 0 {
		s.err = refusal(codeInvalid, s.op, s.key, name+" contains a NUL byte")
		return
	}
	s.num(name, set(v))
}

func (s *setter) num(name string, rc int) {
	if s.err == nil && rc != 0 {
		s.err = refusal(rc, s.op, s.key, "option "+name+": "+native.Kvw_strerror(rc))
	}
}

// native builds the shim's options; the caller frees them.
func (o *ClientOptions) native() (native.Kvwb_client_options, *Error) {
	n := native.Kvwb_client_options_new()
	if n.Swigcptr() == 0 {
		return nil, refusal(native.KVW_ENOMEM, "connect", "", "")
	}
	s := setter{op: "connect"}
	s.str("Servers", strings.Join(o.Servers, ","), func(v string) int { return native.Kvwb_client_options_set_servers(n, v) })
	s.str("Name", o.Name, func(v string) int { return native.Kvwb_client_options_set_name(n, v) })
	s.str("User", o.User, func(v string) int { return native.Kvwb_client_options_set_user(n, v) })
	s.str("Password", o.Password, func(v string) int { return native.Kvwb_client_options_set_password(n, v) })
	s.str("Token", o.Token, func(v string) int { return native.Kvwb_client_options_set_token(n, v) })
	s.str("CredentialsFile", o.CredentialsFile, func(v string) int { return native.Kvwb_client_options_set_credentials_file(n, v) })
	s.str("TLSCAFile", o.TLSCAFile, func(v string) int { return native.Kvwb_client_options_set_tls_ca_file(n, v) })
	s.str("TLSCertFile", o.TLSCertFile, func(v string) int { return native.Kvwb_client_options_set_tls_cert_file(n, v) })
	s.str("TLSKeyFile", o.TLSKeyFile, func(v string) int { return native.Kvwb_client_options_set_tls_key_file(n, v) })
	if o.TLSRequired {
		s.num("TLSRequired", native.Kvwb_client_options_set_tls_required(n, 1))
	}
	if o.ConnectTimeout != 0 {
		s.num("ConnectTimeout", native.Kvwb_client_options_set_connect_timeout_ms(n, millis(o.ConnectTimeout)))
	}
	if o.OpTimeout != 0 {
		s.num("OpTimeout", native.Kvwb_client_options_set_op_timeout_ms(n, millis(o.OpTimeout)))
	}
	if o.MaxInflight != 0 {
		s.num("MaxInflight", native.Kvwb_client_options_set_max_inflight(n, int64(o.MaxInflight)))
	}
	if o.MaxReconnect != 0 {
		s.num("MaxReconnect", native.Kvwb_client_options_set_max_reconnect(n, o.MaxReconnect))
	}
	if o.ReconnectWait != 0 {
		s.num("ReconnectWait", native.Kvwb_client_options_set_reconnect_wait_ms(n, millis(o.ReconnectWait)))
	}
	if o.ResendAfter == NoResend {
		s.num("ResendAfter", native.Kvwb_client_options_set_resend_after_ms(n, int64(native.KVW_RESEND_NEVER)))
	} else if o.ResendAfter != 0 {
		ms := millis(o.ResendAfter)
		if ms < 0 {
			ms = -2 // only NoResend may be negative: kvw refuses the rest
		}
		s.num("ResendAfter", native.Kvwb_client_options_set_resend_after_ms(n, ms))
	}
	if s.err != nil {
		native.Kvwb_client_options_free(n)
		return nil, s.err
	}
	return n, nil
}

func (o *BucketOptions) native(name string) (native.Kvwb_bucket_options, *Error) {
	n := native.Kvwb_bucket_options_new()
	if n.Swigcptr() == 0 {
		return nil, refusal(native.KVW_ENOMEM, "open bucket", name, "")
	}
	s := setter{op: "open bucket", key: name}
	if o.CreateIfMissing {
		s.num("CreateIfMissing", native.Kvwb_bucket_options_set_create_if_missing(n, 1))
	}
	if o.History != 0 {
		s.num("History", native.Kvwb_bucket_options_set_history(n, o.History))
	}
	if o.MaxAge != 0 {
		s.num("MaxAge", native.Kvwb_bucket_options_set_max_age_ms(n, millis(o.MaxAge)))
	}
	if o.MaxBytes != 0 {
		s.num("MaxBytes", native.Kvwb_bucket_options_set_max_bytes(n, o.MaxBytes))
	}
	if o.MaxValueSize != 0 {
		s.num("MaxValueSize", native.Kvwb_bucket_options_set_max_value_size(n, int64(o.MaxValueSize)))
	}
	if o.Replicas != 0 {
		s.num("Replicas", native.Kvwb_bucket_options_set_replicas(n, o.Replicas))
	}
	if o.Storage != FileStorage {
		s.num("Storage", native.Kvwb_bucket_options_set_storage(n, int(o.Storage)))
	}
	if o.AllowTTL {
		s.num("AllowTTL", native.Kvwb_bucket_options_set_allow_ttl(n, 1))
	}
	if o.LimitMarkerTTL != 0 {
		s.num("LimitMarkerTTL", native.Kvwb_bucket_options_set_limit_marker_ttl_ms(n, millis(o.LimitMarkerTTL)))
	}
	if o.DuplicateWindow != 0 {
		s.num("DuplicateWindow", native.Kvwb_bucket_options_set_duplicate_window_ms(n, millis(o.DuplicateWindow)))
	}
	if o.ReadMode != ReadChecked {
		s.num("ReadMode", native.Kvwb_bucket_options_set_read_mode(n, int(o.ReadMode)))
	}
	if o.AllowAtomic {
		s.num("AllowAtomic", native.Kvwb_bucket_options_set_allow_atomic(n, 1))
	}
	if o.AllowBatched {
		s.num("AllowBatched", native.Kvwb_bucket_options_set_allow_batched(n, 1))
	}
	if o.Bulk {
		s.num("Bulk", native.Kvwb_bucket_options_set_bulk(n, 1))
	}
	if s.err != nil {
		native.Kvwb_bucket_options_free(n)
		return nil, s.err
	}
	return n, nil
}
