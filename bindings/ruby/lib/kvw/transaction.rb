# frozen_string_literal: true

module Kvw
  # Writes on one bucket that #commit stores all together or not at all, as
  # one atomic batch (nats-server 2.12+). Made by Bucket#transaction.
  #
  # Each write means what its Bucket method means, checked against the keys
  # as they were before the transaction: +create+ succeeds on a key without a
  # live value (also over a delete marker); +update+ and
  # +delete_with_version+ need the key's latest version to be +expected+. A
  # refused commit raises Kvw::Conflict (Kvw::AlreadyExists for a create)
  # whose +key+ and +version+ name the key and its version when the server's
  # answer says; nothing was stored. Kvw::Timeout: all or nothing was stored,
  # never a part.
  #
  # Not thread-safe. Once a commit is accepted the transaction is empty and
  # may be reused; a refused one keeps its writes. Keys, values and versions
  # as for Bucket.
  class Transaction
    # The most writes one transaction may hold (the server's batch limit).
    MAX_WRITES = Native::KVW_TXN_MAX_WRITES

    # The Bucket it writes to.
    attr_reader :bucket

    def initialize(bucket, native_bucket)
      @bucket = bucket
      @native = Native.kvwb_txn_new or raise NoMemory
      rc = Native.kvwb_txn_open(@native, native_bucket)
      raise bucket.__send__(:refusal, rc, :txn, nil) unless rc.zero?
    end
    private_class_method :new

    # Adds a write of +value+ under +key+. Returns self.
    def put(key, value)
      key = check(key, :put)
      added(:put, key, Native.kvwb_txn_put(@native, key, value(value)))
    end

    # Adds a write that needs +key+ to hold no live value.
    def create(key, value)
      key = check(key, :create)
      added(:create, key, Native.kvwb_txn_create(@native, key, value(value)))
    end

    # Adds a write that needs +key+'s latest version to be +expected+.
    # Kvw::InvalidArgument when the transaction already writes +key+.
    def update(key, value, expected)
      key = check(key, :update)
      added(:update, key, Native.kvwb_txn_update(@native, key, value(value), Version.coerce(expected).text))
    end

    # Adds a delete marker for +key+.
    def delete(key)
      key = check(key, :delete)
      added(:delete, key, Native.kvwb_txn_delete(@native, key))
    end

    # Adds an empty value (a tombstone) that needs +key+'s latest version to be +expected+.
    def delete_with_version(key, expected)
      key = check(key, :delete_with_version)
      added(:delete_with_version, key,
            Native.kvwb_txn_delete_with_version(@native, key, Version.coerce(expected).text))
    end

    # Writes added since it was made or last committed.
    def size
      [Native.kvwb_txn_len(@native), 0].max
    end
    alias length size

    # Commits and waits: the Kvw::Versions of the writes, in the order added.
    def commit
      submit(nil)
    end

    # Commits asynchronously: yields (versions, error) once on the
    # dispatcher thread. A commit refused at once (no writes, Kvw::Busy,
    # Kvw::Closed) raises and keeps the writes.
    def commit_async(&block)
      raise ArgumentError, "commit_async needs a block: { |versions, error| ... }" unless block

      submit(block)
    end

    def inspect
      "#<Kvw::Transaction #{@bucket.name} #{size} writes>"
    end

    private

    def submit(block)
      @bucket.__send__(:run, Op::TXN, :txn, nil, block) { |id| Native.kvwb_txn_commit(@native, id) }
    end

    def added(opname, key, rc)
      return self if rc.zero?

      detail = case rc
               when Native::KVW_EINVAL then "the transaction already writes this key: an expected version cannot be checked after that"
               when Native::KVW_ETOOBIG then "value too large, or the transaction holds #{MAX_WRITES} writes"
               end
      raise Error.for_code(rc, detail, op: opname, key: key)
    end

    def check(key, opname)
      @bucket.__send__(:check_key, key, opname)
    end

    def value(value)
      @bucket.__send__(:check_value, value)
    end
  end
end
