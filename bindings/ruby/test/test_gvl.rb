# frozen_string_literal: true

# Blocking calls release the GVL: other Ruby threads keep running while a
# call waits for an ack. The server is SIGSTOPped so the wait is real.
require_relative "helper"

class TestGVL < Minitest::Test
  def setup
    @server = KvwTest::NatsServer.start
    @client = Kvw::Client.connect(servers: @server.url, op_timeout: 1)
    @bucket = @client.bucket("gvl", create: true)
    @bucket.put("warm", "up")
    @counter = 0
    @spinner = Thread.new { loop { @counter += 1 } }
  end

  def teardown
    @spinner&.kill&.join
    @server&.resume
    @client&.close
    @server&.stop
  end

  def now
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # Runs the blocking call in its own thread; returns [outcome, seconds, spins].
  def measure
    worker = Thread.new do
      before = @counter
      t0 = now
      outcome = begin
        yield
      rescue Kvw::Error => e
        e
      end
      [outcome, now - t0, @counter - before]
    end
    assert worker.join(30), "the blocking call did not return"
    worker.value
  end

  def test_a_blocking_put_waiting_for_its_ack_lets_other_threads_run
    @server.pause
    main_ticks = 0
    worker = Thread.new { measure { @bucket.put("k", "v") } }
    # The main thread runs too (it would be frozen if the GVL were held).
    main_ticks += 1 while worker.alive? && main_ticks < 10_000_000
    outcome, seconds, spins = worker.value
    assert_instance_of Kvw::Timeout, outcome
    assert outcome.outcome_unknown?
    assert outcome.retryable?
    assert_operator seconds, :>=, 0.8
    assert_operator spins, :>, 100_000, "the spinner thread hardly ran during the wait: GVL held?"
    assert_operator main_ticks, :>, 1000
  end

  def test_blocking_reads_and_async_waits_release_the_gvl_too
    @server.pause
    outcome, _seconds, spins = measure { @bucket.get("k") }
    assert_instance_of Kvw::Timeout, outcome
    assert_operator spins, :>, 100_000

    # An async op: the dispatcher waits without the GVL as well.
    q = Queue.new
    before = @counter
    @bucket.put_async("k", "v") { |_v, e| q << e }
    error = Timeout.timeout(30) { q.pop }
    assert_instance_of Kvw::Timeout, error
    assert_operator @counter - before, :>, 100_000
  end

  def test_connect_and_bucket_open_release_the_gvl
    @server.pause
    outcome, seconds, spins = measure { @client.bucket("other", create: true) }
    assert_kind_of Kvw::Error, outcome
    assert_operator seconds, :>=, 0.5
    assert_operator spins, :>, 100_000

    outcome, seconds, spins = measure do
      Kvw::Client.connect(servers: @server.url, connect_timeout: 1, max_reconnect: 0)
    end
    assert_kind_of Kvw::Error, outcome
    assert_operator seconds, :>=, 0.5
    assert_operator spins, :>, 100_000
  end

  def test_a_blocked_caller_can_be_interrupted
    @client.close
    @client = Kvw::Client.connect(servers: @server.url, op_timeout: 30)
    bucket = @client.bucket("gvl")
    @server.pause
    worker = Thread.new { bucket.put("k", "v") }
    worker.report_on_exception = false
    sleep 0.2
    assert worker.alive?, -> { "the put returned: #{(worker.value rescue $!).inspect}" }
    worker.raise(Interrupt)
    assert_raises(Interrupt) { worker.join(5) }
    assert_equal 1, @client.pending, "the op itself is still pending: it completes once, later"
    t0 = now
    @client.close
    assert_operator now - t0, :<, 5
    assert_equal 0, @client.pending
  end
end
