# frozen_string_literal: true

# GC safety: references dropped and GC forced (with compaction) while
# thousands of async ops are pending.
require_relative "helper"
require "zlib"

class TestGC < KvwTest::Case
  def value_for(i)
    Random.new(i).bytes(16 + (i % 64)) + "\0#{i}".b
  end

  def gc!
    GC.start(full_mark: true, immediate_sweep: true)
    GC.compact if GC.respond_to?(:compact)
  end

  def test_stress_with_dropped_references_and_forced_gc
    n = 20_000
    calls = Array.new(n, 0)
    failures = []
    lock = Mutex.new
    gcs = 0
    submit = lambda do |i|
      key = "gc.#{i % 2000}"
      value = value_for(i)
      # The block is the only thing that knows i and the CRC: all else is dropped.
      crc = Zlib.crc32(value)
      @bucket.put_async(key, value) do |version, error|
        lock.synchronize do
          calls[i] += 1
          failures << [i, error] if error
          failures << [i, :no_version] unless error || version.is_a?(Kvw::Version)
          failures << [i, :crc] unless Zlib.crc32(value_for(i)) == crc
        end
      end
    end
    n.times do |i|
      begin
        submit.call(i)
      rescue Kvw::Busy
        sleep 0.001
        retry
      end
      if (i % 2000).zero?
        gc!
        gcs += 1
      end
    end
    until lock.synchronize { calls.count(1) } == n
      gc!
      gcs += 1
      sleep 0.01
    end
    assert_operator gcs, :>=, 10
    sleep 0.1
    assert_equal [1], calls.uniq
    assert_empty failures, failures.first(5).inspect

    # What the last writes left is intact (reads too, with GC between).
    got = {}
    done = Queue.new
    2000.times do |k|
      @bucket.get_async("gc.#{k}") do |value, error|
        got[k] = error || value
        done << k
      end
      gc! if (k % 500).zero?
    end
    2000.times { pop(done) }
    2000.times do |k|
      assert_equal value_for(n - 2000 + k), got[k], "gc.#{k}"
    end
  end

  def test_client_and_bucket_dropped_while_ops_are_pending
    # Pending ops keep their bucket (and through it the client) alive, so
    # they complete normally rather than being cancelled by the client's
    # finalizer. (That a dropped idle client is closed: test_close.rb.)
    results = Queue.new
    lambda do
      client = Kvw::Client.connect(servers: KvwTest.url)
      bucket = client.bucket(KvwTest.unique("drop"), create: true)
      3000.times { |i| bucket.put_async("k#{i % 100}", "v#{i}") { |v, e| results << (e || v) } }
      nil
    end.call
    5.times { gc! }
    outcomes = Array.new(3000) { pop(results) }
    assert(outcomes.all?(Kvw::Version), outcomes.reject { |o| o.is_a?(Kvw::Version) }.first.inspect)
    assert_equal 3000, outcomes.uniq.size
    sleep 0.1
    assert_equal 0, results.size
  end

  def test_under_gc_stress
    calls = Hash.new(0)
    done = Queue.new
    values = {}
    GC.stress = true
    begin
      6.times do |i|
        @bucket.put_async("s#{i}", "value-#{i}\0".b) do |v, e|
          calls[i] += 1
          done << (e || v)
        end
      end
      outcomes = Array.new(6) { pop(done, 120) }
      6.times { |i| @bucket.get_async("s#{i}") { |v, e| values[i] = e || v; done << i } }
      6.times { pop(done, 120) }
      assert(outcomes.all?(Kvw::Version))
    ensure
      GC.stress = false
    end
    assert_equal [1], calls.values.uniq
    assert_equal 6, calls.size
    6.times { |i| assert_equal "value-#{i}\0".b, values[i] }
  end
end
