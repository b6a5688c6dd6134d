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
end
