# frozen_string_literal: true

# The async API: blocks run once, on the client's dispatcher thread.
require_relative "helper"

class TestAsync < KvwTest::Case
  def test_every_op_has_an_async_form
    q = Queue.new
    cb = ->(tag) { proc { |result, error| q << [tag, result, error, Thread.current] } }
    @bucket.put_async("k", "v1\0".b, &cb.call(:put))
    tag, v1, err, thread = pop(q)
    assert_equal :put, tag
    assert_nil err
    assert_kind_of Kvw::Version, v1
    assert_same @client.dispatcher_thread, thread
    refute_same Thread.current, thread

    @bucket.get_async("k", &cb.call(:get))
    assert_equal [:get, "v1\0".b, nil], pop(q)[0, 3]
    @bucket.get_entry_async("k", &cb.call(:entry))
    _, entry, = pop(q)
    assert_equal Kvw::Entry.new(key: "k", value: "v1\0".b, version: v1, op: :put), entry

    @bucket.update_async("k", "v2", v1, &cb.call(:update))
    _, v2, err = pop(q)
    assert_nil err
    @bucket.update_async("k", "v3", v1, &cb.call(:stale))
    _, result, err = pop(q)
    assert_nil result
    assert_instance_of Kvw::Conflict, err
    assert_equal 10_071, err.server_error
    assert_equal "k", err.key

    @bucket.create_async("k", "again", &cb.call(:create))
    _, result, err = pop(q)
    assert_nil result
    assert_instance_of Kvw::AlreadyExists, err

    @bucket.delete_with_version_async("k", v2, &cb.call(:dwv))
    _, tomb, err = pop(q)
    assert_nil err
    @bucket.get_async("k", &cb.call(:get_tomb))
    assert_equal [:get_tomb, nil, nil], pop(q)[0, 3]
    @bucket.get_entry_async("k", &cb.call(:entry_tomb))
    _, entry, = pop(q)
    assert entry.tombstone?
    assert_equal tomb, entry.version

    @bucket.delete_async("k", &cb.call(:delete))
    _, marker, err = pop(q)
    assert_nil err
    assert_operator marker.revision, :>, tomb.revision
    @bucket.create_async("k", "back", &cb.call(:create2))
    _, created, err = pop(q)
    assert_nil err
    @bucket.purge_async("k", &cb.call(:purge))
    _, purged, err = pop(q)
    assert_nil err
    assert_operator purged.revision, :>, created.revision
    @bucket.get_entry_async("never", &cb.call(:missing))
    assert_equal [:missing, nil, nil], pop(q)[0, 3]
    assert_equal 0, q.size
  end

  def test_ops_on_one_key_from_one_thread_keep_their_order
    versions = Array.new(300)
    done = Queue.new
    300.times do |i|
      @bucket.put_async("ordered", "v#{i}") do |v, e|
        versions[i] = e || v
        done << i
      end
    end
    300.times { pop(done) }
    assert(versions.all?(Kvw::Version), versions.reject { |v| v.is_a?(Kvw::Version) }.first.inspect)
    revisions = versions.map(&:revision)
    assert_equal revisions.sort, revisions
    assert_equal "v299", @bucket.get("ordered")
  end

  def test_blocking_calls_inside_an_async_block
    q = Queue.new
    @bucket.put_async("outer", "1") do |v, _e|
      # On the dispatcher thread: these keep dispatching until their own op completes.
      inner = @bucket.put("inner", "2")
      got = @bucket.get("outer")
      nested = Queue.new
      @bucket.get_async("inner") { |value, _| nested << value }
      q << [v, inner, got, @bucket.get("inner"), nested.pop]
    end
    v, inner, got, inner_value, nested_value = pop(q)
    assert_operator inner.revision, :>, v.revision
    assert_equal "1", got
    assert_equal "2", inner_value
    assert_equal "2", nested_value
  end

  def test_an_exception_in_a_block_is_reported_and_dispatching_goes_on
    errors = Queue.new
    client = connect(on_block_error: ->(e) { errors << e })
    bucket = open_bucket("boom", client: client)
    bucket.put_async("k", "v") { raise ArgumentError, "boom" }
    error = pop(errors)
    assert_instance_of ArgumentError, error
    assert_equal "boom", error.message
    assert client.dispatcher_thread.alive?
    assert_equal "v", bucket.get("k")
  end

  def test_default_block_error_handler_warns
    _out, err = capture_subprocess_io do
      q = Queue.new
      @bucket.put_async("k", "v") do
        q << 1
        raise "kaboom"
      end
      pop(q)
      @bucket.get("k") # the dispatcher handled the exception before this completed
    end
    assert_match(/kvw: exception in an async block: RuntimeError: kaboom/, err)
  end

  def test_value_strings_may_change_after_submit
    value = +"original"
    q = Queue.new
    @bucket.put_async("copy", value) { |v, e| q << (e || v) }
    value.replace("changed after submit")
    pop(q)
    assert_equal "original", @bucket.get("copy")
  end
end
