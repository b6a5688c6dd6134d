# frozen_string_literal: true

# Per-key TTL (nats-server 2.11+) and feature detection through the Ruby API.
# On older servers the TTL cases check the refusal, then skip naming 2.11.
require_relative "helper"

class TestTTL < KvwTest::Case
  def ttl_server?
    major, minor = @client.server_version.split(".").map(&:to_i)
    major > 2 || (major == 2 && minor >= 11)
  end

  def ttl_bucket(history: 1)
    skip "per-key TTL needs nats-server 2.11 or newer (this is #{@client.server_version})" unless ttl_server?
    b = open_bucket("rbttl", history: history, allow_ttl: true)
    assert b.supports?(:ttl), b.feature_status(:ttl)
    b
  end

  def wait_gone(bucket, key)
    wait_until(5, "#{key} did not expire") { bucket.get(key).nil? }
  end

  def test_refused_without_support_with_the_reason
    assert_match(/\A2\.\d+\.\d+\z/, @client.server_version)
    refute @bucket.supports?(:ttl)
    why = @bucket.feature_status(:ttl)
    e = assert_raises(Kvw::NotSupported) { @bucket.create("k", "v", ttl: 5) }
    assert_includes e.message, why
    assert_raises(Kvw::NotSupported) { @bucket.purge_async("k", ttl: 5) { flunk "block of a refused op" } }
    assert_nil @bucket.get_entry("k")
    assert_raises(ArgumentError) { @bucket.supports?(:bogus) }
    return if ttl_server?

    assert_includes why, "2.11"
    assert_raises(Kvw::NotSupported) { open_bucket("rbttl", allow_ttl: true) }
    assert_raises(Kvw::NotSupported) { @bucket.enable_ttl }
  end

  def test_bad_ttl_values
    [0, -1, 1.5, 0.4].each do |t|
      assert_raises(Kvw::InvalidTTL, "ttl #{t}") { @bucket.create("k", "v", ttl: t) }
    end
    assert_raises(TypeError) { @bucket.create("k", "v", ttl: "5s") }
  end

  def test_create_with_ttl_expires_and_can_be_created_again
    b = ttl_bucket
    v = b.create("lock", "me", ttl: 1)
    e = b.get_entry("lock")
    assert_equal v, e.version
    assert_equal 1, e.ttl
    assert_raises(Kvw::AlreadyExists) { b.create("lock", "other", ttl: 1) }
    wait_gone(b, "lock")
    b.create("lock", "other", ttl: 1)
    b.create("keep", "v", ttl: :never)
    assert_equal :never, b.get_entry("keep").ttl
  end

  def test_lease_renewal_and_the_history_rule
    b = ttl_bucket
    assert b.supports?(:ttl_on_write)
    v = b.create("kept", "a", ttl: 2)
    b.create("lapsed", "b", ttl: 2)
    3.times do
      sleep 1
      v = b.update("kept", "a", v, ttl: 2)
    end
    assert_equal "a", b.get("kept")
    assert_nil b.get("lapsed")
    b.delete("kept", ttl: 1)
    assert_equal [:delete, 1], b.get_entry("kept").then { |e| [e.op, e.ttl] }
    q = Queue.new
    b.put_async("p", "x", ttl: 1) { |ver, err| q << [ver, err] }
    assert_nil q.pop[1]
    wait_gone(b, "p")

    h = ttl_bucket(history: 3)
    e = assert_raises(Kvw::NotSupported) { h.put("k", "v", ttl: 5) }
    assert_includes e.message, "history 1"
    assert_raises(Kvw::NotSupported) { h.delete("k", ttl: 5) }
    h.purge("k", ttl: 5)
  end

  def test_enable_ttl_on_an_existing_bucket
    skip "per-key TTL needs nats-server 2.11 or newer (this is #{@client.server_version})" unless ttl_server?
    @bucket.put("old", "v")
    @bucket.enable_ttl(limit_marker_ttl: 2)
    assert @bucket.supports?(:ttl)
    assert @bucket.supports?(:limit_markers)
    @bucket.create("new", "v", ttl: 1)
    wait_gone(@bucket, "new")
    assert_equal "v", @bucket.get("old")
  end
end
