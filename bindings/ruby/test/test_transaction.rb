# frozen_string_literal: true

# Transactions (nats-server 2.12+) through the Ruby API. On older servers the
# refusal is checked and the rest skipped naming 2.12.
require_relative "helper"

class TestTransaction < KvwTest::Case
  def atomic_server?
    major, minor = @client.server_version.split(".").map(&:to_i)
    major > 2 || (major == 2 && minor >= 12)
  end

  def txn_bucket
    skip "transactions need nats-server 2.12 or newer (this is #{@client.server_version})" unless atomic_server?
    b = open_bucket("rbtxn", allow_atomic: true)
    assert b.supports?(:atomic_batch), b.feature_status(:atomic_batch)
    b
  end

  def test_refused_without_atomic_bucket
    e = assert_raises(Kvw::NotSupported) { @bucket.transaction }
    assert_includes e.message, @bucket.feature_status(:atomic_batch)
    assert_raises(Kvw::NotSupported) { open_bucket("rbtxn", allow_atomic: true) } unless atomic_server?
  end

  def test_block_form_commits_every_kind
    b = txn_bucket
    u = b.put("u", "u1")
    dv = b.put("dv", "x")
    b.put("m", "gone")
    b.delete("m")
    versions = b.transaction do |t|
      t.put("p", "pv").create("c", nil).create("m", "mv")
      t.update("u", "u2", u)
      t.delete("d")
      t.delete_with_version("dv", dv)
      assert_equal 6, t.size
    end
    assert_equal 6, versions.size
    versions.each_cons(2) { |a, z| assert_equal a.revision + 1, z.revision }
    %w[p c m u d dv].zip(versions, ["pv", "", "mv", "u2", nil, ""], %i[put put put put delete put]) do |key, v, val, op|
      e = b.get_entry(key)
      assert_equal v, e.version, key
      assert_equal op, e.op, key
      assert_equal val, e.value, key unless val.nil?
    end
    assert_equal "mv", b.get("m")
  end

  def test_conflict_names_the_key_and_stores_nothing
    b = txn_bucket
    a = b.put("a", "1")
    stale = b.put("b", "1")
    current = b.put("b", "2")
    t = b.transaction.put("x", "x").update("a", "2", a).update("b", "3", stale)
    assert_raises(Kvw::InvalidArgument) { t.update("b", "4", current) }
    e = assert_raises(Kvw::Conflict) { t.commit }
    assert_equal :txn, e.op
    assert_equal "b", e.key
    assert_equal current, e.version
    assert_nil b.get("x")
    ae = assert_raises(Kvw::AlreadyExists) { b.transaction { |tx| tx.create("a", "again") } }
    assert_equal "a", ae.key
    assert_raises(Kvw::InvalidArgument) { b.transaction.commit } # no writes
    raised = assert_raises(RuntimeError) do
      b.transaction do |tx|
        tx.put("y", "y")
        raise "changed my mind"
      end
    end
    assert_equal "changed my mind", raised.message
    assert_nil b.get("y") # a block that raises commits nothing
  end

  def test_commit_async
    b = txn_bucket
    q = Thread::Queue.new
    100.times do |i|
      b.transaction.put("a", i.to_s).put("b", i.to_s).commit_async { |vs, err| q << [vs, err] }
    end
    100.times do
      vs, err = pop(q)
      assert_nil err
      assert_equal vs[0].revision + 1, vs[1].revision
    end
    assert_equal b.get_entry("a").version.revision + 1, b.get_entry("b").version.revision
    assert_equal b.get("a"), b.get("b")
  end
end

class TestGetMany < KvwTest::Case
  def test_get_many_and_read_modify_write
    major, minor = @client.server_version.split(".").map(&:to_i)
    unless major > 2 || minor >= 11
      assert_raises(Kvw::NotSupported) { @bucket.get_many("a") }
      skip "get_many needs nats-server 2.11 or newer (this is #{@client.server_version})"
    end
    atomic = major > 2 || minor >= 12
    b = open_bucket("rbmany", allow_atomic: atomic)
    a = b.put("a", "1")
    d = b.delete("d")
    s = b.get_many("a", "d", "none")
    assert_equal d, s.as_of
    assert_equal %w[a d none], s.keys
    assert_equal a, s["a"].version
    assert_equal :delete, s["d"].op
    assert_nil s["none"]
    q = Thread::Queue.new
    b.get_many_async("a") { |snap, err| q << [snap, err] }
    snap, err = pop(q)
    assert_nil err
    assert_equal "1", snap["a"].value
    assert_raises(Kvw::InvalidKey) { b.get_many("a", "b\nc") }
    skip "read-modify-write: transactions need nats-server 2.12 or newer" unless atomic

    b.put("x", "50")
    b.put("y", "50")
    threads = Array.new(4) do
      Thread.new do
        moves = 0
        while moves < 25
          s = b.get_many("x", "y")
          x = s["x"].value.to_i
          y = s["y"].value.to_i
          raise "inconsistent snapshot: #{x} + #{y}" unless x + y == 100

          begin
            b.transaction { |t| t.update("x", (x - 1).to_s, s["x"].version).update("y", (y + 1).to_s, s["y"].version) }
            moves += 1
          rescue Kvw::Conflict
            next # someone moved first: read again
          end
        end
      end
    end
    threads.each(&:join)
    s = b.get_many("x", "y")
    assert_equal ["-50", "150"], [s["x"].value, s["y"].value]
  end
end
