# frozen_string_literal: true

module Kvw
  # One KV bucket reached through a Client (Client#bucket opens it).
  #
  # Every op comes in two forms:
  #
  # * blocking — +put+, +create+, +update+, +delete+, +delete_with_version+,
  #   +purge+, +get+, +get_entry+: returns the result or raises a Kvw::Error.
  #   The calling thread waits on a Queue (GVL released), so other Ruby
  #   threads keep running. Inside an async block (on the dispatcher thread)
  #   they work too: the call keeps dispatching until its own op completes.
  # * async — the same names with +_async+, taking a block that runs exactly
  #   once on the client's dispatcher thread with (result, error): error is
  #   nil on success, else a Kvw::Error and result nil. A submit that is
  #   refused at once (bad key, Kvw::Busy, Kvw::Closed…) raises instead and
  #   the block never runs.
  #
  # Results: writes give the new Kvw::Version; +get+ the value (a binary
  # ASCII-8BIT String, NUL bytes kept) or nil when absent (never written,
  # deleted, purged, or an empty value); +get_entry+ a Kvw::Entry (the latest
  # record, tombstones and markers included) or nil when the key has no record.
  #
  # Keys: 1..1024 bytes of [-/_=.a-zA-Z0-9], no leading/trailing ".", no "..";
  # a String or Symbol. Values: a String (any encoding, sent as its bytes) or
  # nil for an empty value. Expected versions: a Kvw::Version, its text or a
  # revision Integer.
  class Bucket
    # The Client this bucket was opened through.
    attr_reader :client
    # The bucket's name.
    attr_reader :name

    def initialize(client, dispatcher, native)
      @client = client
      @dispatcher = dispatcher
      @native = native
      @name = Native.kvwb_bucket_name(native).dup.freeze
      @closed = false
    end
    private_class_method :new

    WRITE = Op::WRITE
    GET = Op::GET
    ENTRY = Op::ENTRY
    EMPTY = "".b.freeze
    private_constant :WRITE, :GET, :ENTRY, :EMPTY

    # Stores +value+ under +key+. Returns the new Kvw::Version. With +ttl:+
    # the value expires after that many seconds (history-1 buckets only:
    # supports?(:ttl_on_write)).
    def put(key, value, ttl: nil)
      submit_put(key, value, ttl, nil)
    end

    # put, asynchronously: yields (version, error) on the dispatcher thread.
    def put_async(key, value, ttl: nil, &block)
      submit_put(key, value, ttl, need(block))
    end

    # Stores +value+ only if +key+ has no live value (never written, or
    # deleted / purged). Kvw::AlreadyExists when it holds one, including the
    # empty-value tombstone of delete_with_version. Returns the new Version.
    # With +ttl:+ (seconds, or :never) the value expires: a lock or lease
    # that frees itself, and create works on the key again (supports?(:ttl)).
    def create(key, value, ttl: nil)
      submit_create(key, value, ttl, nil)
    end

    def create_async(key, value, ttl: nil, &block)
      submit_create(key, value, ttl, need(block))
    end

    # Stores +value+ only if the key's latest version is +expected+, else
    # Kvw::Conflict (also for a key that was never written). Returns the new Version.
    # With +ttl:+ it renews a lease (supports?(:ttl_on_write)).
    def update(key, value, expected, ttl: nil)
      submit_update(key, value, expected, ttl, nil)
    end

    def update_async(key, value, expected, ttl: nil, &block)
      submit_update(key, value, expected, ttl, need(block))
    end

    # Writes a delete marker (succeeds whether or not the key existed).
    # +get+ then returns nil and +create+ works again. Returns the marker's Version.
    # With +ttl:+ the marker goes away after that many seconds (history-1
    # buckets only: supports?(:ttl_on_write)).
    def delete(key, ttl: nil)
      submit_delete(key, ttl, nil)
    end

    def delete_async(key, ttl: nil, &block)
      submit_delete(key, ttl, need(block))
    end

    # Logical delete under CAS: writes an empty value if the key's latest
    # version is +expected+, else Kvw::Conflict. +get+ then returns nil,
    # +get_entry+ shows the empty value, +create+ keeps raising
    # Kvw::AlreadyExists until someone updates over the tombstone's version.
    def delete_with_version(key, expected)
      key = check_key(key, :delete_with_version)
      version = Version.coerce(expected).text
      run(WRITE, :delete_with_version, key, nil) do |id|
        Native.kvwb_delete_with_version(@native, key, version, id)
      end
    end

    def delete_with_version_async(key, expected, &block)
      key = check_key(key, :delete_with_version)
      version = Version.coerce(expected).text
      run(WRITE, :delete_with_version, key, need(block)) do |id|
        Native.kvwb_delete_with_version(@native, key, version, id)
      end
    end

    # Writes a purge marker that drops the key's history. Returns its Version.
    # With +ttl:+ the marker itself goes away after that many seconds.
    def purge(key, ttl: nil)
      submit_purge(key, ttl, nil)
    end

    def purge_async(key, ttl: nil, &block)
      submit_purge(key, ttl, need(block))
    end

    # The key's value (binary String), or nil when it has none.
    # at_least:: a version (e.g. handed over by another process's write) the
    #            read must see at least: a replica that is behind is bypassed,
    #            the stream leader asked until the op timeout (then
    #            Kvw::Timeout).
    def get(key, at_least: nil)
      submit_read(GET, :get, key, at_least, nil)
    end

    def get_async(key, at_least: nil, &block)
      submit_read(GET, :get, key, at_least, need(block))
    end

    # The key's latest record as a Kvw::Entry (op :put / :delete / :purge,
    # empty-value tombstones included), or nil when the key has no record.
    # at_least:: as for get.
    def get_entry(key, at_least: nil)
      submit_read(ENTRY, :get_entry, key, at_least, nil)
    end

    def get_entry_async(key, at_least: nil, &block)
      submit_read(ENTRY, :get_entry, key, at_least, need(block))
    end

    # The latest record of up to 1,024 keys as of one point of the bucket's
    # history (nats-server 2.11+, supports?(:get_many)), as a Kvw::Snapshot:
    # consistent, so its versions are what a transaction's updates can
    # expect (read-modify-write across keys).
    def get_many(*keys)
      submit_many(keys.flatten, nil)
    end

    # get_many, asynchronously: yields (snapshot, error) on the dispatcher thread.
    def get_many_async(*keys, &block)
      submit_many(keys.flatten, need(block))
    end

    # A transaction on this bucket (nats-server 2.12+, a bucket opened with
    # allow_atomic: supports?(:atomic_batch); else Kvw::NotSupported saying
    # what is missing). With a block: yields the Kvw::Transaction, commits
    # it when the block returns and returns the versions of its writes (a
    # block that raises commits nothing). Without: returns it, to commit
    # yourself (Transaction#commit, #commit_async).
    def transaction
      txn = Transaction.__send__(:new, self, @native)
      return txn unless block_given?

      yield txn
      txn.commit
    end

    alias [] get
    # bucket[key] = value is put (the version is dropped).
    def []=(key, value)
      put(key, value)
    end

    # Largest value put accepts, in bytes.
    def max_value_size
      Native.kvwb_bucket_max_value_size(@native)
    end

    FEATURES = { ttl: Native::KVW_FEATURE_TTL, ttl_on_write: Native::KVW_FEATURE_TTL_ON_WRITE,
                 limit_markers: Native::KVW_FEATURE_LIMIT_MARKERS,
                 atomic_batch: Native::KVW_FEATURE_ATOMIC_BATCH,
                 fast_batch: Native::KVW_FEATURE_FAST_BATCH,
                 get_many: Native::KVW_FEATURE_GET_MANY }.freeze

    # Whether the bucket has +feature+ (:ttl, :ttl_on_write, :limit_markers,
    # :atomic_batch, :fast_batch, :get_many), as read when it was opened.
    def supports?(feature)
      Native.kvwb_bucket_supports(@native, feature_code(feature)) == 1
    end

    # "supported", or a sentence saying what the bucket or server lacks.
    def feature_status(feature)
      Native.kvwb_bucket_feature_status(@native, feature_code(feature)).dup
    end

    # Turns per-key TTL on for this existing bucket (never off again) and,
    # with +limit_marker_ttl:+ seconds, limit markers. Blocking.
    def enable_ttl(limit_marker_ttl: nil)
      ms = limit_marker_ttl.nil? ? 0 : ttl_ms(limit_marker_ttl)
      rc = Native.kvwb_bucket_enable_ttl(@native, ms)
      return nil if rc.zero?

      detail = rc == Native::KVW_ENOTSUP ? feature_status(:ttl) : nil
      raise Error.for_code(rc, detail, op: :enable_ttl, key: @name)
    end

    # Refuses new ops on this bucket (Kvw::Closed); pending ops complete normally.
    def close
      @closed = true
      Native.kvwb_bucket_close(@native)
      nil
    end

    def closed?
      @closed || @client.closed?
    end

    def inspect
      "#<Kvw::Bucket #{@name}#{closed? ? ' closed' : ''}>"
    end

    private

    def submit_put(key, value, ttl, block)
      key = check_key(key, :put)
      value = check_value(value)
      if ttl.nil?
        run(WRITE, :put, key, block) { |id| Native.kvwb_put(@native, key, value, id) }
      else
        ms = ttl_ms(ttl)
        run(WRITE, :put, key, block) { |id| Native.kvwb_put_ttl(@native, key, value, ms, id) }
      end
    end

    def submit_create(key, value, ttl, block)
      key = check_key(key, :create)
      value = check_value(value)
      if ttl.nil?
        run(WRITE, :create, key, block) { |id| Native.kvwb_create(@native, key, value, id) }
      else
        ms = ttl_ms(ttl)
        run(WRITE, :create, key, block) { |id| Native.kvwb_create_ttl(@native, key, value, ms, id) }
      end
    end

    def submit_update(key, value, expected, ttl, block)
      key = check_key(key, :update)
      value = check_value(value)
      version = Version.coerce(expected).text
      if ttl.nil?
        run(WRITE, :update, key, block) { |id| Native.kvwb_update(@native, key, value, version, id) }
      else
        ms = ttl_ms(ttl)
        run(WRITE, :update, key, block) { |id| Native.kvwb_update_ttl(@native, key, value, version, ms, id) }
      end
    end

    def submit_read(kind, opname, key, at_least, block)
      key = check_key(key, opname)
      entry = kind == ENTRY
      if at_least.nil?
        return run(kind, opname, key, block) do |id|
          entry ? Native.kvwb_get_entry(@native, key, id) : Native.kvwb_get(@native, key, id)
        end
      end
      min = Version.coerce(at_least).text
      run(kind, opname, key, block) do |id|
        entry ? Native.kvwb_get_entry_at_least(@native, key, min, id) : Native.kvwb_get_at_least(@native, key, min, id)
      end
    end

    def submit_many(keys, block)
      keys = keys.map { |k| check_key(k, :get_many) }
      bad = keys.find { |k| k.include?("\n") }
      raise InvalidKey.new("get_many #{bad.inspect}: key contains a newline", op: :get_many, key: bad) if bad

      joined = keys.map { |k| "#{k}\n" }.join
      run(Op::MANY, :get_many, nil, block) { |id| Native.kvwb_get_many(@native, joined, keys.size, id) }
    end

    def submit_purge(key, ttl, block)
      key = check_key(key, :purge)
      if ttl.nil?
        run(WRITE, :purge, key, block) { |id| Native.kvwb_purge(@native, key, id) }
      else
        ms = ttl_ms(ttl)
        run(WRITE, :purge, key, block) { |id| Native.kvwb_purge_ttl(@native, key, ms, id) }
      end
    end

    def submit_delete(key, ttl, block)
      key = check_key(key, :delete)
      if ttl.nil?
        run(WRITE, :delete, key, block) { |id| Native.kvwb_delete(@native, key, id) }
      else
        ms = ttl_ms(ttl)
        run(WRITE, :delete, key, block) { |id| Native.kvwb_delete_ttl(@native, key, ms, id) }
      end
    end

    def feature_code(feature)
      FEATURES.fetch(feature) { raise ArgumentError, "unknown feature #{feature.inspect}: one of #{FEATURES.keys}" }
    end

    # A TTL in seconds (Integer or Float) or :never, as kvw's milliseconds.
    # Values kvw refuses (below 1 s, fractions) stay refusable: Kvw::InvalidTTL.
    def ttl_ms(ttl)
      return Native::KVW_TTL_NEVER if ttl == :never
      raise TypeError, "ttl must be a number of seconds or :never, not #{ttl.inspect}" unless ttl.is_a?(Numeric)
      return -2 unless ttl.positive?

      ms = (ttl * 1000).round
      ms.zero? ? -2 : ms
    end

    def need(block)
      raise ArgumentError, "an async op needs a block: { |result, error| ... }" unless block

      block
    end

    # Submits through the dispatcher; blocking when +block+ is nil.
    def run(kind, opname, key, block)
      op = Op.new(kind, opname, self, block)
      rc = @dispatcher.submit(op) { |id| yield id }
      raise refusal(rc, opname, key) unless rc.zero?
      return nil if block

      @dispatcher.await(op)
    end

    # The error for a submit kvw refused with +rc+ (Kvw::NotSupported says
    # what the bucket lacks).
    def refusal(rc, opname, key)
      feature = { txn: :atomic_batch, get_many: :get_many, create: :ttl, purge: :ttl }.fetch(opname, :ttl_on_write)
      Error.for_code(rc, rc == Native::KVW_ENOTSUP ? feature_status(feature) : nil, op: opname, key: key)
    end

    def check_key(key, opname)
      key = key.to_s if key.is_a?(Symbol)
      raise TypeError, "key must be a String, not #{key.class}" unless key.is_a?(String)
      if key.include?("\0")
        raise InvalidKey.new("#{opname} #{key.inspect}: key contains a NUL byte", op: opname, key: key)
      end

      key
    end

    def check_value(value)
      return value if value.is_a?(String)
      return EMPTY if value.nil?
      return value.to_str if value.respond_to?(:to_str)

      raise TypeError, "value must be a String or nil, not #{value.class}"
    end
  end
end
