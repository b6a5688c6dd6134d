# frozen_string_literal: true

# Many ops in flight from several Ruby threads: every completion exactly once.
require_relative "helper"

class TestConcurrency < KvwTest::Case
  THREADS = 8
  PER_THREAD = 1500

  def test_many_async_ops_from_several_threads_complete_exactly_once
    buckets = [@bucket, open_bucket("conc2")]
    calls = Hash.new(0)
    outcomes = {}
    lock = Mutex.new
    gate = Queue.new
    threads = Array.new(THREADS) do |t|
      Thread.new do
        gate.pop
        PER_THREAD.times do |i|
          bucket = buckets[(t + i) % 2]
          key = "t#{t}.k#{i % 50}"
          record = lambda do |result, error|
            lock.synchronize do
              calls[[t, i]] += 1
              outcomes[[t, i]] = error || result
            end
          end
          case i % 5
          when 0, 1, 2 then bucket.put_async(key, "#{t}:#{i}", &record)
          when 3 then bucket.get_async(key, &record)
          else bucket.create_async("t#{t}.c#{i}", "c", &record)
          end
        end
      end
    end
    THREADS.times { gate << :go }
    threads.each(&:join)
    total = THREADS * PER_THREAD
    wait_until(60, "completions missing") { lock.synchronize { calls.size } == total }
    sleep 0.2 # anything extra would show now
    lock.synchronize do
      assert_equal total, calls.size
      assert_equal [1], calls.values.uniq, "some op completed more than once"
      errors = outcomes.values.grep(Kvw::Error)
      assert_empty errors, errors.first(3).inspect
      writes = outcomes.reject { |(_, i), _| i % 5 == 3 }
      assert(writes.values.all?(Kvw::Version))
      # Versions are per bucket: no two writes to one bucket share one.
      per_bucket = writes.map { |(t, i), v| [(t + i) % 2, v] }
      assert_equal per_bucket.size, per_bucket.uniq.size, "two writes got the same version"
    end
    assert_equal 0, @client.pending
  end

  def test_blocking_calls_from_many_threads
    threads = Array.new(16) do |t|
      Thread.new do
        50.times.map do |i|
          key = "b#{t}.#{i}"
          v = @bucket.put(key, "#{t}/#{i}")
          [v, @bucket.get(key) == "#{t}/#{i}"]
        end
      end
    end
    results = threads.flat_map(&:value)
    assert_equal 800, results.size
    assert(results.all? { |_, ok| ok })
    assert_equal 800, results.map(&:first).uniq.size
  end

  def test_several_clients_at_once
    clients = Array.new(3) { connect }
    buckets = clients.map { |c| c.bucket(@bucket.name) }
    counts = Array.new(3, 0)
    lock = Mutex.new
    buckets.each_with_index do |b, n|
      500.times { |i| b.put_async("c#{n}.#{i}", "x") { |_v, e| lock.synchronize { counts[n] += 1 unless e } } }
    end
    wait_until(30) { lock.synchronize { counts.sum } == 1500 }
    assert_equal [500, 500, 500], counts
    threads = clients.map(&:dispatcher_thread)
    assert_equal 3, threads.uniq.size, "one dispatcher thread per client"
  end
end
