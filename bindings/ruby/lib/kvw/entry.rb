# frozen_string_literal: true

module Kvw
  # The latest record of a key, as Bucket#get_entry returns it.
  #
  # +op+ is :put (a value; an empty value is the tombstone delete_with_version
  # leaves), :delete (a marker written by delete) or :purge (a marker written
  # by purge). +value+ is a binary (ASCII-8BIT) String, "" for markers.
  # +version+ is the record's Kvw::Version: pass it to update to write over a
  # tombstone or marker.
  #
  # +ttl+ is the record's own TTL in seconds (nats-server 2.11+), :never, or
  # nil when it has none.
  class Entry
    attr_reader :key, :value, :version, :op, :ttl

    def initialize(key:, value:, version:, op:, ttl: nil)
      @key = key
      @value = value
      @version = version
      @op = op
      @ttl = ttl
      freeze
    end

    # A value record (possibly empty).
    def put?
      @op == :put
    end

    # A delete marker.
    def delete?
      @op == :delete
    end

    # A purge marker.
    def purge?
      @op == :purge
    end

    # True for a delete/purge marker or an empty value: Bucket#get returns nil for it.
    def deleted?
      @op != :put || @value.empty?
    end

    # True for the empty value that delete_with_version leaves (create keeps refusing it).
    def tombstone?
      @op == :put && @value.empty?
    end

    def ==(other)
      other.is_a?(Entry) && other.key == @key && other.value == @value &&
        other.version == @version && other.op == @op
    end
    alias eql? ==

    def hash
      [Entry, @key, @value, @version, @op].hash
    end

    def to_h
      { key: @key, value: @value, version: @version, op: @op, ttl: @ttl }
    end

    def inspect
      "#<Kvw::Entry #{@key} #{@op} #{@version} #{@value.bytesize} bytes>"
    end
  end
end

module Kvw
  # The latest record of several keys as of one point of the bucket's
  # history, as Bucket#get_many returns it: every write stored before that
  # point is in it, none stored after it.
  #
  # +as_of+ is the point (a Kvw::Version; nil when none of the keys had a
  # record); +entries+ one Kvw::Entry per key asked for, in that order, or nil
  # for a key that had no record; snapshot[key] looks one up.
  class Snapshot
    include Enumerable
    attr_reader :as_of, :keys, :entries

    def initialize(as_of:, keys:, entries:)
      @as_of = as_of
      @keys = keys.freeze
      @entries = entries.freeze
      freeze
    end

    # The Entry of +key+, or nil.
    def [](key)
      i = @keys.index(key.to_s)
      i && @entries[i]
    end

    # Yields each [key, entry or nil].
    def each(&block)
      @keys.zip(@entries).each(&block)
    end

    def inspect
      "#<Kvw::Snapshot as_of #{@as_of} #{@keys.zip(@entries).map { |k, e| "#{k}=#{e ? e.version : 'none'}" }.join(' ')}>"
    end
  end
end
