# frozen_string_literal: true

module Kvw
  # Base class of every error kvw raises or hands to an async block.
  #
  #   begin
  #     bucket.update("k", "v", stale_version)
  #   rescue Kvw::Conflict => e
  #     e.code          # => -7 (KVW_ECONFLICT)
  #     e.name          # => "KVW_ECONFLICT"
  #     e.server_error  # => 10071 (JetStream error code, 0 if none)
  #     e.version       # => the key's current Kvw::Version when the server said, else nil
  #   end
  class Error < StandardError
    # The negative KVW_E* code.
    attr_reader :code
    # JetStream error code (e.g. 10071, wrong last sequence), 0 if none.
    attr_reader :server_error
    # The op that failed (:put, :create, … :get_entry) or nil (connect, bucket open).
    attr_reader :op
    # The op's key, or nil.
    attr_reader :key
    # Conflict / AlreadyExists: the key's current version when the server said it; else nil.
    attr_reader :version

    # The code this class stands for (nil for Error itself).
    CODE = nil

    def initialize(message = nil, code: nil, server_error: 0, op: nil, key: nil, version: nil)
      @code = code || self.class::CODE || Native::KVW_EINTERNAL
      @server_error = server_error.to_i
      @op = op
      @key = key
      @version = version
      super(message || Native.kvw_strerror(@code))
    end

    # The code's name, e.g. "KVW_ECONFLICT".
    def name
      Native.kvw_err_name(code)
    end

    # True if repeating the same op later may succeed (timeout, not connected, busy).
    def retryable?
      Native.kvw_err_is_retryable(code) == 1
    end

    # True if a write that failed with this error may nevertheless have been
    # stored (a timeout, or a write cancelled at close after it was sent):
    # read the key back before deciding.
    def outcome_unknown?
      Native.kvw_err_outcome_unknown(code) == 1
    end

    # :nodoc: The error for +code+ with a message naming what failed.
    def self.for_code(code, detail = nil, op: nil, key: nil, server_error: 0, version: nil)
      klass = BY_CODE.fetch(code, Error)
      text = +""
      text << op.to_s if op
      text << " #{key.inspect}" if key
      text << ": " unless text.empty?
      text << (detail.nil? || detail.empty? ? Native.kvw_strerror(code) : detail)
      text << " (#{Native.kvw_err_name(code)}"
      text << ", JetStream error #{server_error}" if server_error.to_i != 0
      text << ")"
      klass.new(text, code: code, server_error: server_error, op: op, key: key, version: version)
    end
  end

  # Invalid argument (a nil handle, a bad option value…). Parent of the other Invalid* errors.
  class InvalidArgument < Error; CODE = Native::KVW_EINVAL; end
  # The key is not a valid NATS KV key (charset, dots, length, NUL byte).
  class InvalidKey < InvalidArgument; CODE = Native::KVW_EBADKEY; end
  # The bucket name is not [A-Za-z0-9_-]+.
  class InvalidBucketName < InvalidArgument; CODE = Native::KVW_EBADNAME; end
  # The version is not a valid token, or not a revision (e.g. the unknown version).
  class InvalidVersion < InvalidArgument; CODE = Native::KVW_EBADVERSION; end
  # The value is larger than the server or bucket accepts.
  class TooBig < InvalidArgument; CODE = Native::KVW_ETOOBIG; end
  # create: the key holds a live value (including a delete_with_version tombstone).
  class AlreadyExists < Error; CODE = Native::KVW_EEXIST; end
  # update / delete_with_version: the expected version is not the key's latest.
  class Conflict < Error; CODE = Native::KVW_ECONFLICT; end
  # No value (only raised by APIs that do not return nil for "absent").
  class NotFound < Error; CODE = Native::KVW_ENOTFOUND; end
  # No answer in time: the write may have landed (outcome_unknown? is true).
  class Timeout < Error; CODE = Native::KVW_ETIMEDOUT; end
  # No connection to any server.
  class NotConnected < Error; CODE = Native::KVW_ENOTCONN; end
  # The bucket does not exist (open it with create: true to create it).
  class NoBucket < Error; CODE = Native::KVW_ENOBUCKET; end
  # The bucket or the server's storage is full.
  class Full < Error; CODE = Native::KVW_EFULL; end
  # The client or bucket is closed; pending ops end with this at close.
  class Closed < Error; CODE = Native::KVW_ECLOSED; end
  # The in-flight window (max_inflight) is full: retry after some completions.
  class Busy < Error; CODE = Native::KVW_EBUSY; end
  # Out of memory.
  class NoMemory < Error; CODE = Native::KVW_ENOMEM; end
  # Authentication failed.
  class AuthenticationFailed < Error; CODE = Native::KVW_EAUTH; end
  # The server refused: permission denied.
  class PermissionDenied < Error; CODE = Native::KVW_EPERM; end
  # TLS set-up or handshake failed.
  class TLSError < Error; CODE = Native::KVW_ETLS; end
  # Another server / JetStream error; see server_error.
  class ServerError < Error; CODE = Native::KVW_ESERVER; end
  # Unexpected client-side failure.
  class InternalError < Error; CODE = Native::KVW_EINTERNAL; end
  # The server or bucket cannot do this (e.g. per-key TTL before nats-server
  # 2.11); the message says what is missing (Bucket#feature_status).
  class NotSupported < Error; CODE = Native::KVW_ENOTSUP; end
  # A TTL below 1 s, not whole seconds, or too large.
  class InvalidTTL < InvalidArgument; CODE = Native::KVW_EBADTTL; end

  class Error
    BY_CODE = [InvalidArgument, InvalidKey, InvalidBucketName, InvalidVersion, TooBig,
               AlreadyExists, Conflict, NotFound, Timeout, NotConnected, NoBucket, Full,
               Closed, Busy, NoMemory, AuthenticationFailed, PermissionDenied, TLSError,
               ServerError, InternalError, NotSupported, InvalidTTL].to_h { |k| [k::CODE, k] }.freeze
    private_constant :BY_CODE
  end
end
