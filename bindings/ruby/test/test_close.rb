# frozen_string_literal: true

# Closing with ops pending: each op completes exactly once.
require_relative "helper"

class TestClose < KvwTest::Case
  # A private server we can pause, so ops are surely pending at close.
  def with_paused_server
    server = KvwTest::NatsServer.start
    client = Kvw::Client.connect(servers: server.url, op_timeout: 30)
    bucket = client.bucket("paused", create: true)
    bucket.put("warm", "up")
    server.pause
    yield client, bucket
  ensure
    client&.close
    server&.stop
  end

  def test_close_completes_every_pending_async_op_once
    with_paused_server do |client, bucket|
      n = 3000
      calls = Array.new(n, 0)
      results = Array.new(n)
      n.times do |i|
        block = proc do |result, error|
          calls[i] += 1
          results[i] = error || result
        end
        case i % 4
        when 0 then bucket.put_async("k#{i}", "v", &block)
        when 1 then bucket.get_async("k#{i}", &block)
        when 2 then bucket.create_async("k#{i}", "v", &block)
        else bucket.delete_async("k#{i}", &block)
        end
      end
      assert_equal n, client.pending
      client.close # waits until the dispatcher delivered every cancellation
      assert_equal [1], calls.uniq
      assert(results.all?(Kvw::Closed), results.reject { |r| r.is_a?(Kvw::Closed) }.first.inspect)
      write = results[0]
      assert write.outcome_unknown?, "a write cancelled after it was sent may have landed"
      assert_equal :put, write.op
      assert_equal 0, client.pending
      refute client.dispatcher_thread.alive?
    end
  end

  def test_close_wakes_blocking_callers_in_other_threads
    with_paused_server do |client, bucket|
      started = Queue.new
      threads = Array.new(4) do |t|
        Thread.new do
          started << t
          bucket.put("blocked#{t}", "v")
        rescue Kvw::Error => e
          e
        end
      end
      4.times { pop(started) }
      wait_until(10) { client.pending == 4 }
      client.close
      threads.each do |th|
        assert th.join(10), "a blocked caller was not woken by close"
        assert_instance_of Kvw::Closed, th.value
      end
    end
  end

  def test_close_while_acks_are_arriving
    # Ops whose reply was already in may complete with their real outcome:
    # each still completes exactly once.
    3.times do
      client = connect
      bucket = open_bucket("race", client: client)
      n = 2000
      calls = Array.new(n, 0)
      outcomes = Array.new(n)
      n.times do |i|
        bucket.put_async("k#{i % 10}", "v") do |v, e|
          calls[i] += 1
          outcomes[i] = e || v
        end
      end
      sleep 0.001
      client.close
      assert_equal [1], calls.uniq
      assert(outcomes.all? { |o| o.is_a?(Kvw::Version) || o.is_a?(Kvw::Closed) }, outcomes.uniq(&:class).inspect)
    end
  end

  def test_close_from_another_clients_async_block
    with_paused_server do |client, bucket|
      seen = []
      bucket.put_async("a", "1") { |_v, e| seen << [:a, e.class] }
      bucket.put_async("b", "2") { |_v, e| seen << [:b, e.class] }
      done = Queue.new
      @bucket.put_async("t", "x") do
        client.close # joins the other client's dispatcher, which delivers a and b
        done << seen.dup
      end
      assert_equal [[:a, Kvw::Closed], [:b, Kvw::Closed]], pop(done).sort
    end
  end

  def test_close_from_a_block_of_the_same_client
    q = Queue.new
    pending_results = []
    server = KvwTest::NatsServer.start
    client = Kvw::Client.connect(servers: server.url, op_timeout: 30)
    bucket = client.bucket("self", create: true)
    bucket.put_async("first", "x") do |_v, _e|
      server.pause
      5.times { |i| bucket.put_async("p#{i}", "y") { |_v2, e2| pending_results << e2.class } }
      client.close # on the dispatcher thread: the five complete nested, before this returns
      q << pending_results.dup
    end
    assert_equal [Kvw::Closed] * 5, pop(q)
    assert client.dispatcher_thread.join(10), "dispatcher did not stop after a close from a block"
  ensure
    server&.stop
  end

  def test_submits_after_close_raise_closed_and_run_no_block
    @client.close
    %i[put create].each do |m|
      assert_raises(Kvw::Closed) { @bucket.public_send(:"#{m}_async", "k", "v") { flunk } }
    end
    assert_raises(Kvw::Closed) { @bucket.get("k") }
  end

  def test_a_dropped_client_is_closed_by_its_finalizer
    thread = lambda do
      # No op: the dispatcher's own stack then holds nothing that leads to
      # the client (the GC scans thread stacks conservatively).
      client = Kvw::Client.connect(servers: KvwTest.url)
      client.bucket(KvwTest.unique("fin"), create: true)
      client.dispatcher_thread
    end.call
    assert thread.alive?
    wait_until(30, "the collected client's dispatcher never stopped") do
      GC.start(full_mark: true, immediate_sweep: true)
      !thread.alive?
    end
  end
end
