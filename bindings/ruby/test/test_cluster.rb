# frozen_string_literal: true

# A bucket with three replicas on the 3-node cluster run-tests.sh starts
# (scripts/lib/nats-cluster.sh, KVW_TEST_CLUSTER_URLS), as KV is deployed.
require_relative "helper"

class TestCluster < Minitest::Test
  def test_r3_bucket_conflicts_and_ttl
    urls = ENV["KVW_TEST_CLUSTER_URLS"].to_s
    skip "no cluster: bindings/ruby/run-tests.sh starts one and sets KVW_TEST_CLUSTER_URLS" if urls.empty?

    Kvw::Client.connect(servers: urls) do |client|
      major, minor = client.server_version.split(".").map(&:to_i)
      ttl = major > 2 || minor >= 11
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
      bucket = begin
        client.bucket(KvwTest.unique("rbr3"), create: true, replicas: 3, allow_ttl: ttl)
      rescue Kvw::Error
        raise if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.2 # the meta layer may still be settling
        retry
      end
      v1 = bucket.put("k", "one")
      bucket.update("k", "two", v1)
      assert_raises(Kvw::Conflict) { bucket.update("k", "three", v1) }
      assert_equal "two", bucket.get("k")
      skip "TTL part: per-key TTL needs nats-server 2.11 or newer (this is #{client.server_version})" unless ttl

      bucket.create("lock", "a", ttl: 1)
      assert_raises(Kvw::AlreadyExists) { bucket.create("lock", "b", ttl: 1) }
      gone = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 8
      until bucket.get("lock").nil?
        flunk "the lock did not expire" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > gone
        sleep 0.1
      end
      bucket.create("lock", "b", ttl: 1)
    end
  end

  # An R3 bucket that takes transactions (2.12+): all or nothing, a refusal names the key.
  def test_r3_transaction
    urls = ENV["KVW_TEST_CLUSTER_URLS"].to_s
    skip "no cluster: bindings/ruby/run-tests.sh starts one and sets KVW_TEST_CLUSTER_URLS" if urls.empty?

    Kvw::Client.connect(servers: urls) do |client|
      major, minor = client.server_version.split(".").map(&:to_i)
      skip "transactions need nats-server 2.12 or newer (this is #{client.server_version})" unless major > 2 || minor >= 12

      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
      bucket = begin
        client.bucket(KvwTest.unique("rbr3txn"), create: true, replicas: 3, allow_atomic: true)
      rescue Kvw::Error
        raise if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.2 # the meta layer may still be settling
        retry
      end
      stale = bucket.put("b", "1")
      current = bucket.put("b", "2")
      e = assert_raises(Kvw::Conflict) { bucket.transaction { |t| t.put("x", "x").update("b", "3", stale) } }
      assert_equal "b", e.key
      assert_equal current, e.version
      assert_nil bucket.get("x")
      versions = bucket.transaction { |t| t.put("x", "x").update("b", "3", current) }
      assert_equal versions[0], bucket.get_entry("x").version
      assert_equal versions[1], bucket.get_entry("b").version
    end
  end

  # Issue 16's read check through Ruby: 8 threads put, get and update 4 keys
  # through one client; a get never returns a version older than one any
  # completed op had reported before it was called; a stale CAS is
  # Kvw::Conflict. Then a version handed to a second client (reading direct)
  # is seen with get(at_least:).
  def test_reads_see_completed_writes
    urls = ENV["KVW_TEST_CLUSTER_URLS"].to_s
    skip "no cluster: bindings/ruby/run-tests.sh starts one and sets KVW_TEST_CLUSTER_URLS" if urls.empty?

    name = KvwTest.unique("rbryw")
    Kvw::Client.connect(servers: urls) do |client|
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
      bucket = begin
        client.bucket(name, create: true, replicas: 3)
      rescue Kvw::Error
        raise if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.2 # the meta layer may still be settling
        retry
      end
      seen = Array.new(4, 0)
      mu = Mutex.new
      counts = Hash.new(0)
      stop = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 4
      threads = Array.new(8) do |t|
        Thread.new do
          rng = Random.new(t)
          mine = {}
          while Process.clock_gettime(Process::CLOCK_MONOTONIC) < stop
            k = rng.rand(4)
            key = "k#{k}"
            begin
              case rng.rand(3)
              when 0
                before = mu.synchronize { seen[k] }
                e = bucket.get_entry(key)
                got = e ? e.version.revision : 0
                mu.synchronize do
                  counts[:gets] += 1
                  counts[:stale] += 1 if got < before
                  seen[k] = got if got > seen[k]
                end
                mine[k] = e.version if e
                next
              when 1 then v = bucket.put(key, "p#{t}")
              else v = mine[k] ? bucket.update(key, "u#{t}", mine[k]) : bucket.put(key, "p#{t}")
              end
              mine[k] = v
              mu.synchronize { seen[k] = v.revision if v.revision > seen[k] }
            rescue Kvw::Conflict
              mu.synchronize { counts[:conflicts] += 1 }
            rescue Kvw::Error
              mu.synchronize { counts[:other] += 1 }
            end
          end
        end
      end
      threads.each(&:join)
      puts "FIGURES ruby cluster reads: #{counts[:gets]} gets, #{counts[:stale]} older than a completed op, " \
           "#{counts[:conflicts]} conflicts, #{counts[:other]} other failures"
      assert_equal 0, counts[:stale]
      assert_equal 0, counts[:other]
      assert_operator counts[:gets], :>, 50

      Kvw::Client.connect(servers: urls) do |other|
        direct = other.bucket(name, read_mode: :direct)
        200.times do |i|
          v = bucket.put("handed", "h#{i}")
          e = direct.get_entry("handed", at_least: v)
          assert_operator e.version.revision, :>=, v.revision
        end
        assert_raises(ArgumentError) { other.bucket(name, read_mode: :fast) }
      end
    end
  end
end
