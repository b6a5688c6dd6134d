# frozen_string_literal: true

# Bulk handles (fast-ingest batches, nats-server 2.14+) through the Ruby API,
# read back through a plain handle. On older servers the refusal is checked
# and the rest skipped naming 2.14.
require_relative "helper"

class TestBulk < KvwTest::Case
  def batched_server?
    major, minor = @client.server_version.split(".").map(&:to_i)
    major > 2 || (major == 2 && minor >= 14)
  end

  def test_refused_where_the_server_or_bucket_cannot
    name = KvwTest.unique("rbbulkref")
    unless batched_server?
      assert_raises(Kvw::NotSupported) { @client.bucket(name, create: true, allow_batched: true, bulk: true) }
      return
    end
    plain = @client.bucket(name, create: true)
    refute plain.supports?(:fast_batch)
    assert_raises(Kvw::NotSupported) { @client.bucket(name, bulk: true) }
  end

  def test_load_reads_back
    skip "bulk handles need nats-server 2.14 or newer (this is #{@client.server_version})" unless batched_server?
    name = KvwTest.unique("rbbulk")
    bulk = @client.bucket(name, create: true, allow_batched: true, bulk: true)
    plain = @client.bucket(name)
    results = Queue.new
    2000.times do |i|
      key = "k#{i % 400}"
      if i >= 1600 && (i % 10).zero?
        bulk.delete_async(key) { |v, err| results << [v, err] }
      else
        bulk.put_async(key, "v#{i}") { |v, err| results << [v, err] }
      end
    end
    outcomes = Array.new(2000) { pop(results) }
    assert_empty outcomes.map(&:last).compact
    refute outcomes.all? { |v, _| v.unknown? }, "the last write of each batch has an exact version"
    alone = bulk.put("alone", "1") # a batch of one: its version is exact
    refute alone.unknown?
    assert_equal alone, plain.get_entry("alone").version
    400.times do |k|
      last = 1600 + k
      if (last % 10).zero?
        assert_nil plain.get("k#{k}"), "k#{k} was deleted last"
      else
        assert_equal "v#{last}", plain.get("k#{k}"), "k#{k}"
      end
    end
  end
end
