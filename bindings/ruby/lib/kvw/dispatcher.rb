# frozen_string_literal: true

module Kvw
  # One accepted op: what to do with its completion record. Internal.
  #
  # An async op holds the user's block; a blocking op holds a Queue its
  # caller waits on. The op also holds its Bucket, so the bucket (and through
  # it the client) stays alive until the op completes even if the user drops
  # every reference to them.
  class Op # :nodoc:
    WRITE = 0
    GET = 1
    ENTRY = 2
    TXN = 3 # a transaction's commit: its writes' versions
    MANY = 4 # a multi-key read: a Snapshot

    ENTRY_OPS = {
      Native::KVW_ENTRY_PUT => :put,
      Native::KVW_ENTRY_DELETE => :delete,
      Native::KVW_ENTRY_PURGE => :purge
    }.freeze
    STATUS_OK = Native::KVW_OK
    STATUS_NOTFOUND = Native::KVW_ENOTFOUND
    UNKNOWN = "unknown"

    attr_reader :name, :bucket

    # A record's ttl_ms as Entry#ttl: seconds (Integer when whole), :never or nil.
    def self.ttl_of(ms)
      return nil if ms.zero?
      return :never if ms == Native::KVW_TTL_NEVER

      (ms % 1000).zero? ? ms / 1000 : ms / 1000.0
    end

    # A multi-key read's record as a Snapshot (its entries are owned by it).
    def self.snapshot_of(rec)
      entries = Array.new(rec.entry_count) { |i| Native.kvwb_completion_entry(rec, i) }
      keys = entries.map { |e| e.key.dup.freeze }
      records = entries.map do |e|
        next nil unless e.status == STATUS_OK

        Entry.new(key: e.key.dup.freeze, value: e.value_bytes, version: Version.from_canonical(e.version),
                  op: ENTRY_OPS.fetch(e.entry_op, :put), ttl: Op.ttl_of(e.ttl_ms))
      end
      as_of = rec.version == UNKNOWN ? nil : Version.from_canonical(rec.version)
      Snapshot.new(as_of: as_of, keys: keys, entries: records)
    end

    def initialize(kind, name, bucket, block)
      @kind = kind
      @name = name
      @bucket = bucket
      @block = block
      @queue = block ? nil : Thread::Queue.new
      @done = false
    end

    def done?
      @done
    end

    # [result, error] from a completion record (read before the record is freed).
    def decode(rec)
      status = rec.status
      if status == STATUS_OK
        case @kind
        when WRITE then [Version.from_canonical(rec.version), nil]
        when GET then [rec.value_bytes, nil]
        when TXN then [Array.new(rec.txn_writes) { |i| Version.from_revision(rec.revision + i) }, nil]
        when MANY then [Op.snapshot_of(rec), nil]
        else
          [Entry.new(key: rec.key, value: rec.value_bytes, version: Version.from_canonical(rec.version),
                     op: ENTRY_OPS.fetch(rec.entry_op, :put), ttl: Op.ttl_of(rec.ttl_ms)), nil]
        end
      elsif status == STATUS_NOTFOUND && (@kind == GET || @kind == ENTRY)
        [nil, nil] # absent: get / get_entry return nil
      else
        text = rec.version
        version = text == UNKNOWN ? nil : Version.from_canonical(text)
        key = @kind == TXN && rec.key.empty? ? nil : rec.key # a refused commit names its key when known
        [nil, Error.for_code(status, rec.message, op: @name, key: key,
                                                 server_error: rec.server_error, version: version)]
      end
    end

    # Runs the block (on the dispatcher thread) or wakes the blocked caller.
    def finish(result, error, on_block_error)
      if @block
        @done = true
        begin
          @block.call(result, error)
        rescue StandardError => e
          on_block_error.call(e)
        end
      else
        @result = result
        @error = error
        @done = true
        @queue.push(true)
      end
    end

    # The blocked caller: waits (Queue#pop releases the GVL) and returns or raises.
    def wait
      @queue.pop unless @done
      value
    end

    def value
      raise @error if @error

      @result
    end
  end

  # The Ruby side of one client: its op table and its dispatcher thread.
  # Internal.
  #
  # libkvw runs in poll delivery (the shim forces it), so C never calls Ruby:
  # kvw's callbacks only append records to the shim's queue. The dispatcher
  # thread waits in kvwb_wait with the GVL released (its unblock function is
  # kvwb_wake, so Thread#kill and interpreter exit interrupt it), then pops
  # records with kvwb_next on this Ruby thread, removes each op from the
  # table and completes it: async blocks run here, blocking callers are woken.
  class Dispatcher # :nodoc:
    ECLOSED = Native::KVW_ECLOSED

    attr_reader :native, :thread

    DEFAULT_BLOCK_ERROR = lambda do |e|
      warn "kvw: exception in an async block: #{e.class}: #{e.message}\n\t" \
           "#{(e.backtrace || []).first(8).join("\n\t")}"
    end

    def initialize(native, on_block_error)
      @native = native
      @on_block_error = on_block_error || DEFAULT_BLOCK_ERROR
      @ops = {}
      @lock = Thread::Mutex.new
      @next_id = 0
      @closed = false
      @thread = Thread.new { run }
      @thread.name = "kvw-dispatcher"
    end

    # Called by a finalizer when the Client was collected without close.
    def self.finalizer(native)
      proc { Native.kvwb_client_close(native) }
    end

    def closed?
      @closed
    end

    # Ops accepted whose completion has not been handled yet.
    def pending
      @ops.size
    end

    def dispatcher_thread?
      Thread.current.equal?(@thread)
    end

    # Registers +op+, then yields its id to the native submit. The op must be
    # in the table before the submit: its record may be drained at once.
    # Returns 0, or the negative code of a refusal (the op is forgotten).
    def submit(op)
      id = @lock.synchronize do
        id = @next_id += 1
        @ops[id] = op
        id
      end
      rc = yield id
      @lock.synchronize { @ops.delete(id) } unless rc.zero?
      rc
    end

    # Waits for a blocking op. On the dispatcher thread itself (a blocking
    # call inside an async block) it keeps dispatching until the op is done.
    def await(op)
      return op.wait unless dispatcher_thread?

      until op.done?
        n = Native.kvwb_wait(@native, 100)
        drain
        raise Closed.new("client closed", op: op.name) if n == ECLOSED && !op.done?
      end
      op.value
    end

    # Closes the native client: every pending op's record is queued before
    # kvwb_client_close returns. Then the dispatcher delivers them and stops;
    # this waits for that, unless it is the dispatcher itself.
    def close
      close_with { Native.kvwb_client_close(@native) }
    end

    # kvwb_client_drain, then as close; the native status (0 or KVW_ETIMEDOUT).
    def drain_and_close(timeout_ms)
      close_with { Native.kvwb_client_drain(@native, timeout_ms) }
    end

    def close_with
      @closed = true
      rc = yield
      if dispatcher_thread?
        drain
      else
        @thread.join
        # Every record was queued before kvwb_client_close returned, and the
        # dispatcher takes them all before kvwb_wait says KVW_ECLOSED; should
        # it have died first (Thread#kill), this thread delivers the rest.
        drain
      end
      rc
    end

    private

    def run
      loop do
        n = Native.kvwb_wait(@native, -1) # GVL released while it waits
        drain
        break if n.negative? # KVW_ECLOSED: closed and nothing left
      end
    ensure
      # Killed or an exception escaped a block (non-StandardError): close,
      # so that every op still completes exactly once.
      unless @closed && Native.kvwb_queued(@native).zero?
        @closed = true
        Native.kvwb_client_close(@native)
        begin
          drain
        rescue Exception # rubocop:disable Lint/RescueException
          retry
        end
      end
    end

    def drain
      while (rec = Native.kvwb_next(@native))
        op = nil
        begin
          op = @lock.synchronize { @ops.delete(rec.op_id) }
          result, error = op.decode(rec) if op
        ensure
          Native.kvwb_completion_free(rec) # the proxy must not be used after this
        end
        op&.finish(result, error, @on_block_error)
      end
    end
  end
  private_constant :Op, :Dispatcher
end
