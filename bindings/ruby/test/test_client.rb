# frozen_string_literal: true

# Client and bucket life cycle, options and submit-time refusals.
require_relative "helper"

class TestClient < KvwTest::Case
  def test_block_form_closes_and_returns_the_block_value
    client = nil
    result = Kvw::Client.connect(servers: KvwTest.url) do |c|
      client = c
      c.bucket(KvwTest.unique("blk"), create: true).put("k", "v")
      :done
    end
    assert_equal :done, result
    assert client.closed?
    refute client.dispatcher_thread.alive?
  end

  def test_options
    client = connect(servers: [KvwTest.url, KvwTest.url], name: "opts", op_timeout: 2.5,
                     connect_timeout: 1, max_inflight: 100, max_reconnect: 3, reconnect_wait: 0.2)
    bucket = open_bucket("opts", client: client, history: 5, storage: :memory, max_age: 3600,
                                 max_bytes: 1 << 20, max_value_size: 64, replicas: 1)
    bucket.put("k", "x" * 64)
    error = assert_raises(Kvw::TooBig) { bucket.put("k", "x" * 65) }
    assert_kind_of Kvw::InvalidArgument, error
    assert_equal 64, bucket.max_value_size
    assert_match(/\Aopts_/, bucket.name)
    assert_same client, bucket.client

    assert_raises(ArgumentError) { Kvw::Client.connect(servers: KvwTest.url, bogus: 1) }
    assert_raises(ArgumentError) { Kvw::Client.connect(servers: KvwTest.url, op_timeout: 0) }
    assert_raises(TypeError) { Kvw::Client.connect(servers: KvwTest.url, op_timeout: "1") }
    assert_raises(ArgumentError) { Kvw::Client.connect(servers: "nats://x\0y") }
    assert_raises(ArgumentError) { @client.bucket("b", storage: :tape) }
    assert_raises(Kvw::InvalidArgument) { @client.bucket(KvwTest.unique("h"), create: true, history: 100) }
    assert_raises(NoMethodError) { Kvw::Client.new }
  end

  def test_connect_failure_raises_not_connected
    error = assert_raises(Kvw::NotConnected) do
      Kvw::Client.connect(servers: "nats://127.0.0.1:1", connect_timeout: 0.5, max_reconnect: 0)
    end
    assert error.retryable?
    assert_includes error.message, "nats://127.0.0.1:1"
  end

  def test_bucket_open_errors
    assert_raises(Kvw::NoBucket) { @client.bucket(KvwTest.unique("missing")) }
    ["a.b", "", "a b", "a*"].each do |name|
      assert_raises(Kvw::InvalidBucketName, name) { @client.bucket(name, create: true) }
    end
    assert_raises(Kvw::InvalidBucketName) { @client.bucket("a\0b", create: true) }
    assert_raises(TypeError) { @client.bucket(42) }
    # An existing bucket opens as it is, from another client too.
    name = @bucket.name
    @bucket.put("shared", "yes")
    other = connect.bucket(name)
    assert_equal "yes", other.get("shared")
  end

  def test_bucket_close_refuses_new_ops
    other = @client.bucket(@bucket.name)
    @bucket.close
    assert @bucket.closed?
    error = assert_raises(Kvw::Closed) { @bucket.put("k", "v") }
    assert_equal :put, error.op
    assert_raises(Kvw::Closed) { @bucket.get_async("k") { flunk } }
    other.put("k", "still works")
    assert_equal "still works", other.get("k")
  end

  def test_client_close_refuses_new_ops_and_is_idempotent
    @client.close
    @client.close
    assert @client.closed?
    assert @bucket.closed?
    assert_raises(Kvw::Closed) { @bucket.put("k", "v") }
    assert_raises(Kvw::Closed) { @bucket.put_async("k", "v") { flunk } }
    assert_raises(Kvw::Closed) { @client.bucket(@bucket.name) }
    refute @client.dispatcher_thread.alive?
    assert_equal 0, @client.pending
  end

  def test_busy_when_the_in_flight_window_is_full
    client = connect(max_inflight: 2)
    bucket = open_bucket("busy", client: client)
    done = Queue.new
    accepted = 0
    busy = nil
    200.times do |i|
      bucket.put_async("k#{i}", "v") { |_v, e| done << e }
      accepted += 1
    rescue Kvw::Busy => e
      busy = e
      break
    end
    refute_nil busy, "200 puts against a window of 2 never saw Kvw::Busy"
    assert busy.retryable?
    assert_equal :put, busy.op
    accepted.times { assert_nil pop(done) }
    assert_equal 0, done.size
  end

  def test_async_needs_a_block
    assert_raises(ArgumentError) { @bucket.put_async("k", "v") }
    assert_raises(ArgumentError) { @bucket.get_async("k") }
  end
end
