# frozen_string_literal: true

# Idempotent resends and drain (the C suite reliability/resend gives the
# same counts).
require_relative "helper"

class TestResend < KvwTest::Case
  def test_resend_options
    Kvw::Client.connect(servers: KvwTest.url, resend_after: :never) do |client|
      bucket = client.bucket(KvwTest.unique("never"), create: true, duplicate_window: 60)
      assert bucket.put("k", "v")
    end
    assert_raises(ArgumentError) { Kvw::Client.connect(servers: KvwTest.url, resend_after: -1) }
    assert_raises(TypeError) { Kvw::Client.connect(servers: KvwTest.url, resend_after: "soon") }
  end

  # 1,000 puts in flight to a paused server that comes back 500 ms later:
  # close cancels them all, drain waits for their real outcomes.
  def test_drain_gets_real_outcomes_where_close_cancels
    server = KvwTest::NatsServer.start
    [false, true].each do |drain|
      client = Kvw::Client.connect(servers: server.url, reconnect_wait: 0.1)
      bucket = client.bucket("drain#{drain}", create: true, history: 4)
      server.pause
      n = 1000
      results = Queue.new
      n.times { |i| bucket.put_async("k#{i}", "v") { |_v, error| results << error } }
      resumer = Thread.new { sleep 0.5; server.resume }
      if drain
        assert client.drain(10)
      else
        client.close
      end
      resumer.join
      errors = Array.new(n) { results.pop }
      ok = errors.count(&:nil?)
      cancelled = errors.count { |e| e.is_a?(Kvw::Closed) }
      puts "FIGURES drain=#{drain} with #{n} in flight, server paused 500 ms: OK #{ok}, cancelled #{cancelled}"
      assert_equal(drain ? n : 0, ok)
      assert_equal(drain ? 0 : n, cancelled)
      assert_raises(Kvw::Closed) { bucket.put_async("late", "v") { |*| nil } }
    end
    # A drain that gives up: false, and the op ends cancelled.
    client = Kvw::Client.connect(servers: server.url)
    bucket = client.bucket("giveup", create: true)
    server.pause
    done = Queue.new
    bucket.put_async("k", "v") { |_v, error| done << error }
    refute client.drain(0.2)
    assert_kind_of Kvw::Closed, done.pop
    assert client.drain(0), "closed: nothing to wait for"
    assert_raises(ArgumentError) { client.drain(-1) }
  ensure
    server&.resume
    server&.stop
  end
end
