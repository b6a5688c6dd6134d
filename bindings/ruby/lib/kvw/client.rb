# frozen_string_literal: true

require_relative "dispatcher"

module Kvw
  # One NATS connection + JetStream context, with a Ruby dispatcher thread
  # that completes its ops. Open buckets with #bucket.
  #
  #   Kvw::Client.connect(servers: "nats://127.0.0.1:4222", op_timeout: 2) do |client|
  #     bucket = client.bucket("config", create: true)
  #     bucket.put("k", "v")
  #   end                                   # the block form closes the client
  #
  # Thread-safe: any Ruby thread may use a client and its buckets at the same time.
  class Client
    STRING_OPTIONS = %i[name user password token credentials_file tls_ca_file
                        tls_cert_file tls_key_file].freeze
    private_constant :STRING_OPTIONS

    # Connects (blocking; the GVL is released while it connects).
    #
    # servers::          URL or Array of URLs ["nats://127.0.0.1:4222"]
    # name::             connection name shown by the server
    # user:, password::  user/password authentication
    # token::            token authentication
    # credentials_file:: NATS .creds file (JWT + nkey seed)
    # tls_ca_file::      CA to verify the server (implies TLS)
    # tls_cert_file:, tls_key_file:: client certificate
    # tls_required::     insist on TLS even without a CA file
    # connect_timeout::  seconds per connection attempt [2]
    # op_timeout::       seconds: deadline of every op [5]; a write that times out
    #                    raises Kvw::Timeout (outcome unknown)
    # max_inflight::     ops accepted but not completed before submits raise Kvw::Busy [16384]
    # max_reconnect::    reconnect attempts: 0 never, -1 forever [60]
    # reconnect_wait::   seconds between attempts to one server [2]
    # resend_after::     seconds: every write carries a write id (Nats-Msg-Id); one
    #                    whose ack has not come after this long is sent again with
    #                    the same id until op_timeout, and the stream stores it
    #                    once, so writes end with their real outcome [1];
    #                    :never: one send, no write id
    # on_block_error::   called with the exception when an async block raises
    #                    (default: a warning on $stderr); runs on the dispatcher thread
    #
    # With a block, yields the client, closes it afterwards and returns the
    # block's value. Raises Kvw::NotConnected, Kvw::AuthenticationFailed,
    # Kvw::TLSError or Kvw::InvalidArgument.
    def self.connect(**options)
      client = new(**options)
      return client unless block_given?

      begin
        yield client
      ensure
        client.close
      end
    end

    # The servers given to connect (as one comma-separated String), or nil for the default.
    attr_reader :servers

    def initialize(servers: nil, connect_timeout: nil, op_timeout: nil, max_inflight: nil,
                   max_reconnect: nil, reconnect_wait: nil, resend_after: nil, tls_required: false,
                   on_block_error: nil, **strings)
      unknown = strings.keys - STRING_OPTIONS
      raise ArgumentError, "unknown option(s): #{unknown.join(', ')}" unless unknown.empty?

      @servers = servers.is_a?(Array) ? servers.join(",") : servers
      native = Native.kvwb_client_new or raise NoMemory
      opts = Native.kvwb_client_options_new or raise NoMemory
      begin
        set(opts, :servers, text_option(:servers, @servers))
        strings.each { |k, v| set(opts, k, text_option(k, v)) }
        set(opts, :tls_required, tls_required ? 1 : 0)
        set(opts, :connect_timeout_ms, millis(:connect_timeout, connect_timeout)) if connect_timeout
        set(opts, :op_timeout_ms, millis(:op_timeout, op_timeout)) if op_timeout
        set(opts, :reconnect_wait_ms, millis(:reconnect_wait, reconnect_wait)) if reconnect_wait
        if resend_after == :never
          set(opts, :resend_after_ms, Native::KVW_RESEND_NEVER)
        elsif resend_after
          set(opts, :resend_after_ms, millis(:resend_after, resend_after))
        end
        set(opts, :max_inflight, integer(:max_inflight, max_inflight)) if max_inflight
        set(opts, :max_reconnect, reconnect_attempts(max_reconnect)) if max_reconnect
        rc = Native.kvwb_client_open(native, opts) # releases the GVL
      ensure
        Native.kvwb_client_options_free(opts)
      end
      unless rc.zero?
        raise Error.for_code(rc, "cannot connect to #{@servers || 'nats://127.0.0.1:4222'}: " \
                                 "#{Native.kvw_strerror(rc)}")
      end

      @dispatcher = Dispatcher.new(native, on_block_error)
      # Dropped without close: close it when collected (the dispatcher thread
      # references only the Dispatcher, not this object).
      ObjectSpace.define_finalizer(self, Dispatcher.finalizer(native))
    end
    private_class_method :new

    # Opens bucket +name+ (blocking: one JetStream request, two when it is
    # created; the GVL is released). Options apply only when it is created:
    #
    # create::         create the bucket when absent [false]
    # history::        values kept per key, 1..64 [1]
    # max_age::        seconds after which entries expire, nil = never
    # max_bytes::      bucket size limit, nil = unlimited
    # max_value_size:: largest value in bytes, nil = server limit
    # replicas::       stream replicas, 1..5 [1]
    # storage::        :file or :memory [:file]
    # allow_ttl::      keys may carry their own TTL (nats-server 2.11+, else
    #                  Kvw::NotSupported) [false]
    # limit_marker_ttl:: seconds a purge marker lives after a key aged out;
    #                  implies allow_ttl [nil: no markers]
    # duplicate_window:: seconds the stream remembers write ids; kvw resends a
    #                  write only within it [nil: 30, or max_age when shorter]
    # read_mode::      how this handle's reads see replicas, also for an
    #                  existing bucket: :checked (a direct get older than what
    #                  this client has seen goes to the stream leader),
    #                  :direct (any replica), :leader [:checked]
    # allow_atomic::   the bucket takes transactions (Bucket#transaction;
    #                  nats-server 2.12+, else Kvw::NotSupported) [false]
    # allow_batched::  the bucket takes fast-ingest batches (nats-server
    #                  2.14+, else Kvw::NotSupported) [false]
    # bulk::           this handle's put, delete and purge go as fast-ingest
    #                  batches, for loaders: the server acks every few hundred
    #                  writes; a write's Version is exact only for the last of
    #                  a batch (else unknown?). Needs supports?(:fast_batch),
    #                  else Kvw::NotSupported [false]
    #
    # Raises Kvw::NoBucket (absent and create: false), Kvw::InvalidBucketName, …
    def bucket(name, create: false, history: nil, max_age: nil, max_bytes: nil,
               max_value_size: nil, replicas: nil, storage: nil, allow_ttl: false, limit_marker_ttl: nil,
               duplicate_window: nil, read_mode: nil, allow_atomic: false, allow_batched: false, bulk: false)
      name = name.to_s if name.is_a?(Symbol)
      raise TypeError, "bucket name must be a String, not #{name.class}" unless name.is_a?(String)
      raise InvalidBucketName.new("bucket name contains a NUL byte: #{name.inspect}") if name.include?("\0")

      opts = Native.kvwb_bucket_options_new or raise NoMemory
      native = Native.kvwb_bucket_new or raise NoMemory
      begin
        bset(opts, :create_if_missing, create ? 1 : 0)
        bset(opts, :history, integer(:history, history)) if history
        bset(opts, :max_age_ms, millis(:max_age, max_age)) if max_age
        bset(opts, :max_bytes, integer(:max_bytes, max_bytes)) if max_bytes
        bset(opts, :max_value_size, integer(:max_value_size, max_value_size)) if max_value_size
        bset(opts, :replicas, integer(:replicas, replicas)) if replicas
        bset(opts, :storage, storage_code(storage)) if storage
        bset(opts, :allow_ttl, 1) if allow_ttl
        bset(opts, :limit_marker_ttl_ms, millis(:limit_marker_ttl, limit_marker_ttl)) if limit_marker_ttl
        bset(opts, :duplicate_window_ms, millis(:duplicate_window, duplicate_window)) if duplicate_window
        bset(opts, :read_mode, read_mode_code(read_mode)) if read_mode
        bset(opts, :allow_atomic, 1) if allow_atomic
        bset(opts, :allow_batched, 1) if allow_batched
        bset(opts, :bulk, 1) if bulk
        rc = Native.kvwb_bucket_open(native, @dispatcher.native, name, opts) # releases the GVL
      ensure
        Native.kvwb_bucket_options_free(opts)
      end
      raise Error.for_code(rc, "cannot open bucket #{name.inspect}: #{Native.kvw_strerror(rc)}") unless rc.zero?

      Bucket.__send__(:new, self, @dispatcher, native)
    end

    # Closes the client: new ops raise Kvw::Closed, and every op still
    # pending completes exactly once — usually with Kvw::Closed (a write
    # already sent may have landed: Error#outcome_unknown?), or with its real
    # outcome if its reply was already in. Async blocks of those ops run on
    # the dispatcher thread before close returns (when called from an async
    # block, they run nested inside that call). Idempotent.
    def close
      @dispatcher.close
    end

    # Waits until every op accepted so far has its outcome, at most +timeout+
    # seconds, then closes as #close does; new ops raise Kvw::Closed from the
    # start. With resends on, writes whose ack was lost get their real outcome
    # meanwhile instead of Kvw::Closed. Returns true, or false when ops still
    # in flight at the end were cancelled (they complete with Kvw::Closed).
    # The GVL is released while it waits.
    def drain(timeout)
      raise TypeError, "timeout must be a number of seconds" unless timeout.is_a?(Numeric)
      raise ArgumentError, "timeout must be >= 0, got #{timeout}" if timeout.negative?

      @dispatcher.drain_and_close((timeout * 1000).ceil).zero?
    end

    # True once #close was called.
    def closed?
      @dispatcher.closed?
    end

    # The version of the server connected to now, e.g. "2.11.3" (it can
    # change after a reconnect to another server of a cluster).
    def server_version
      v = Native.kvwb_client_server_version(@dispatcher.native)
      raise Error.for_code(v, nil, op: :server_version) if v.negative?

      "#{v / 10_000}.#{v / 100 % 100}.#{v % 100}"
    end

    # Ops accepted by this client whose completion has not been handled yet.
    def pending
      @dispatcher.pending
    end

    # The Ruby thread that runs async blocks.
    def dispatcher_thread
      @dispatcher.thread
    end

    def inspect
      "#<Kvw::Client #{@servers || 'default'}#{closed? ? ' closed' : ''}>"
    end

    private

    def set(opts, name, value)
      rc = Native.__send__(:"kvwb_client_options_set_#{name}", opts, value)
      raise InvalidArgument.new("bad client option #{name}: #{value.inspect}") unless rc.zero?
    end

    def bset(opts, name, value)
      rc = Native.__send__(:"kvwb_bucket_options_set_#{name}", opts, value)
      raise InvalidArgument.new("bad bucket option #{name}: #{value.inspect}") unless rc.zero?
    end

    def text_option(name, value)
      return nil if value.nil?

      value = value.to_s if value.is_a?(Symbol)
      raise TypeError, "#{name} must be a String" unless value.is_a?(String)
      raise ArgumentError, "#{name} contains a NUL byte" if value.include?("\0")

      value
    end

    def millis(name, seconds)
      raise TypeError, "#{name} must be a number of seconds" unless seconds.is_a?(Numeric)
      raise ArgumentError, "#{name} must be > 0, got #{seconds}" unless seconds.positive?

      [(seconds * 1000).ceil, 1].max
    end

    def integer(name, value)
      raise TypeError, "#{name} must be an Integer, not #{value.class}" unless value.is_a?(Integer)
      raise ArgumentError, "#{name} out of range: #{value}" unless value.bit_length < 63

      value
    end

    # libkvw: 0 means "default", KVW_NO_RECONNECT (-2) means never.
    NO_RECONNECT = -2
    private_constant :NO_RECONNECT

    def reconnect_attempts(value)
      value = integer(:max_reconnect, value)
      raise ArgumentError, "max_reconnect must be >= -1, got #{value}" if value < -1

      value.zero? ? NO_RECONNECT : value
    end

    def read_mode_code(mode)
      case mode
      when :checked then Native::KVW_READ_CHECKED
      when :direct then Native::KVW_READ_DIRECT
      when :leader then Native::KVW_READ_LEADER
      else raise ArgumentError, "read_mode must be :checked, :direct or :leader, not #{mode.inspect}"
      end
    end

    def storage_code(storage)
      case storage
      when :file then Native::KVW_STORAGE_FILE
      when :memory then Native::KVW_STORAGE_MEMORY
      else raise ArgumentError, "storage must be :file or :memory, not #{storage.inspect}"
      end
    end
  end
end
