package io.kvw;

import io.kvw.internal.kvw_native;
import io.kvw.internal.kvwb_client_options;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * How {@link KvwClient#connect(ClientOptions)} connects. Immutable; made with
 * {@link #builder()}. Unset values take kvw's defaults (in brackets).
 */
public final class ClientOptions {
    /** {@link Builder#maxReconnect}: keep trying forever. */
    public static final int RECONNECT_FOREVER = -1;
    /** {@link Builder#resendAfter}: every write is sent once, without a write id (kvw 0.1). */
    public static final Duration NO_RESEND = Duration.ofMillis(-1);

    /** {@link Builder#maxReconnect}: never reconnect after a lost connection. */
    public static final int NO_RECONNECT = io.kvw.internal.kvw_nativeConstants.KVW_NO_RECONNECT;

    final String servers, name, user, password, token, credentialsFile;
    final String tlsCaFile, tlsCertFile, tlsKeyFile;
    final boolean tlsRequired;
    final Duration connectTimeout, opTimeout, reconnectWait, resendAfter;
    final long maxInflight;
    final Integer maxReconnect;
    final Executor completionExecutor;

    private ClientOptions(Builder b) {
        servers = b.servers;
        name = b.name;
        user = b.user;
        password = b.password;
        token = b.token;
        credentialsFile = b.credentialsFile;
        tlsCaFile = b.tlsCaFile;
        tlsCertFile = b.tlsCertFile;
        tlsKeyFile = b.tlsKeyFile;
        tlsRequired = b.tlsRequired;
        connectTimeout = b.connectTimeout;
        opTimeout = b.opTimeout;
        reconnectWait = b.reconnectWait;
        resendAfter = b.resendAfter;
        maxInflight = b.maxInflight;
        maxReconnect = b.maxReconnect;
        completionExecutor = b.completionExecutor;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The options with only the server URLs set. */
    public static ClientOptions servers(String servers) {
        return builder().servers(servers).build();
    }

    /** The executor completing futures, or null (the client's dispatcher thread). */
    public Executor completionExecutor() {
        return completionExecutor;
    }

    /** Fills a native options object; the caller frees it. */
    kvwb_client_options toNative() {
        kvwb_client_options o = kvw_native.kvwb_client_options_new();
        if (o == null) throw KvwException.of(KvwError.OUT_OF_MEMORY.code(), null, null);
        try {
            check(kvw_native.kvwb_client_options_set_servers(o, servers), "servers");
            check(kvw_native.kvwb_client_options_set_name(o, name), "name");
            check(kvw_native.kvwb_client_options_set_user(o, user), "user");
            check(kvw_native.kvwb_client_options_set_password(o, password), "password");
            check(kvw_native.kvwb_client_options_set_token(o, token), "token");
            check(kvw_native.kvwb_client_options_set_credentials_file(o, credentialsFile), "credentialsFile");
            check(kvw_native.kvwb_client_options_set_tls_ca_file(o, tlsCaFile), "tlsCaFile");
            check(kvw_native.kvwb_client_options_set_tls_cert_file(o, tlsCertFile), "tlsCertFile");
            check(kvw_native.kvwb_client_options_set_tls_key_file(o, tlsKeyFile), "tlsKeyFile");
            check(kvw_native.kvwb_client_options_set_tls_required(o, tlsRequired ? 1 : 0), "tlsRequired");
            if (connectTimeout != null)
                check(kvw_native.kvwb_client_options_set_connect_timeout_ms(o, millis(connectTimeout)), "connectTimeout");
            if (opTimeout != null)
                check(kvw_native.kvwb_client_options_set_op_timeout_ms(o, millis(opTimeout)), "opTimeout");
            if (reconnectWait != null)
                check(kvw_native.kvwb_client_options_set_reconnect_wait_ms(o, millis(reconnectWait)), "reconnectWait");
            if (resendAfter == NO_RESEND)
                check(kvw_native.kvwb_client_options_set_resend_after_ms(o, kvw_native.KVW_RESEND_NEVER), "resendAfter");
            else if (resendAfter != null)
                check(kvw_native.kvwb_client_options_set_resend_after_ms(o, millis(resendAfter)), "resendAfter");
            if (maxInflight != 0)
                check(kvw_native.kvwb_client_options_set_max_inflight(o, maxInflight), "maxInflight");
            if (maxReconnect != null)
                check(kvw_native.kvwb_client_options_set_max_reconnect(o, maxReconnect), "maxReconnect");
            return o;
        } catch (RuntimeException e) {
            o.delete();
            throw e;
        }
    }

    static long millis(Duration d) {
        try {
            return d.toMillis();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    private static void check(int rc, String what) {
        if (rc != 0) {
            throw KvwException.create(rc, "client option " + what + " refused", null, null, 0, null, true);
        }
    }

    /** Builds {@link ClientOptions}. Not thread-safe. */
    public static final class Builder {
        private String servers, name, user, password, token, credentialsFile;
        private String tlsCaFile, tlsCertFile, tlsKeyFile;
        private boolean tlsRequired;
        private Duration connectTimeout, opTimeout, reconnectWait, resendAfter;
        private long maxInflight;
        private Integer maxReconnect;
        private Executor completionExecutor;

        private Builder() {}

        /** Comma-separated server URLs [nats://127.0.0.1:4222]. */
        public Builder servers(String servers) {
            this.servers = servers;
            return this;
        }

        /** Server URLs, joined with commas. */
        public Builder servers(String... servers) {
            this.servers = String.join(",", servers);
            return this;
        }

        /** Connection name shown by the server [none]. */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /** User name and password [none]. */
        public Builder userInfo(String user, String password) {
            this.user = user;
            this.password = password;
            return this;
        }

        /** Authentication token [none]. */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** NATS .creds file (JWT + nkey seed) [none]. */
        public Builder credentialsFile(String path) {
            this.credentialsFile = path;
            return this;
        }

        /** CA file to verify the server; implies TLS [none]. */
        public Builder tlsCaFile(String path) {
            this.tlsCaFile = path;
            return this;
        }

        /** Client certificate and key files [none]. */
        public Builder tlsClientCertificate(String certFile, String keyFile) {
            this.tlsCertFile = certFile;
            this.tlsKeyFile = keyFile;
            return this;
        }

        /** Insist on TLS even without a CA file [false]. */
        public Builder tlsRequired(boolean required) {
            this.tlsRequired = required;
            return this;
        }

        /** Per connection attempt [2 s]. */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = Objects.requireNonNull(timeout);
            return this;
        }

        /**
         * Idempotent resends [1 s]: every write carries a write id
         * (Nats-Msg-Id), and one whose ack has not come after this long (a lost
         * connection, a restart, a leader change) is sent again with the same
         * id until the op timeout; the stream stores it once. So writes end with
         * their real outcome, and {@link KvwTimeoutException} only when no
         * answer came in time. {@link #NO_RESEND}: one send, no write id.
         */
        public Builder resendAfter(Duration after) {
            Objects.requireNonNull(after);
            if (after != NO_RESEND && (after.isNegative() || after.isZero()))
                throw new IllegalArgumentException("resendAfter must be positive or NO_RESEND: " + after);
            this.resendAfter = after;
            return this;
        }

        /** Deadline of every op [5 s]; an op past it fails with {@link KvwTimeoutException}. */
        public Builder opTimeout(Duration timeout) {
            this.opTimeout = Objects.requireNonNull(timeout);
            return this;
        }

        /**
         * Ops accepted but not yet completed, 1..4294967295 [16384]; past it
         * submits fail at once with {@link BusyException}.
         */
        public Builder maxInflight(long max) {
            if (max < 1 || max > 0xffffffffL) throw new IllegalArgumentException("maxInflight: " + max);
            this.maxInflight = max;
            return this;
        }

        /**
         * Reconnect attempts after a lost connection [60];
         * {@link #RECONNECT_FOREVER} or {@link #NO_RECONNECT}.
         */
        public Builder maxReconnect(int attempts) {
            this.maxReconnect = attempts;
            return this;
        }

        /** Pause between attempts to one server [2 s]. */
        public Builder reconnectWait(Duration wait) {
            this.reconnectWait = Objects.requireNonNull(wait);
            return this;
        }

        /**
         * Where futures are completed (and so where dependent stages attached
         * with the non-async {@code thenApply}… methods run). Default null: on
         * the client's dispatcher thread, which is fastest; such stages must
         * then be short and must not block on another kvw future. With an
         * executor, each batch of completions is one task on it.
         */
        public Builder completionExecutor(Executor executor) {
            this.completionExecutor = executor;
            return this;
        }

        public ClientOptions build() {
            return new ClientOptions(this);
        }
    }
}
