# frozen_string_literal: true

# The conformance cases of tests/test_conformance.c, through the Ruby API:
# what each op does to a bucket (DESIGN.md section 1).
require_relative "helper"

class TestConformance < KvwTest::Case
  BIN = "\x00\x01\x02a\x00\xff\x80\n".b

  def test_put_get_roundtrip_is_binary_safe
    v1 = @bucket.put("bin", BIN)
    assert_kind_of Kvw::Version, v1
    refute v1.unknown?

    value = @bucket.get("bin")
    assert_equal BIN, value
    assert_equal Encoding::ASCII_8BIT, value.encoding
    assert_equal 8, value.bytesize

    entry = @bucket.get_entry("bin")
    assert_equal :put, entry.op
    assert_equal "bin", entry.key
    assert_equal BIN, entry.value
    assert_equal v1, entry.version
    refute entry.deleted?

    v2 = @bucket.put("bin", "second")
    assert_operator v2.revision, :>, v1.revision
    assert_equal "second", @bucket.get("bin")
    assert_equal v2, @bucket.get_entry("bin").version
  end

  def test_values_in_any_encoding_are_sent_as_bytes
    utf8 = "héllo \u{1F600}"
    @bucket.put("utf8", utf8)
    got = @bucket.get("utf8")
    assert_equal utf8.b, got
    assert_equal utf8, got.force_encoding(Encoding::UTF_8)
    @bucket["sugar"] = "x"
    assert_equal "x", @bucket["sugar"]
    @bucket.put(:sym, "symbol keys work")
    assert_equal "symbol keys work", @bucket.get("sym")
  end

  def test_key_charset_and_max_length
    keys = ["a", "A-Z_a=z/0.9", "-", "_", "=", "/", "a.b.c", "x/y/z", "0", "k" * Kvw::KEY_MAX]
    keys.each_with_index do |key, i|
      @bucket.put(key, "v#{i}")
      assert_equal "v#{i}", @bucket.get(key), key
    end
  end

  def test_bad_keys_are_refused_before_anything_is_sent
    before = @bucket.put("probe", "x")
    bad = ["", ".a", "a.", "a..b", "a b", "a*", "a>", "caf\u00e9", "a\0b", "\0", "k" * (Kvw::KEY_MAX + 1)]
    bad.each do |key|
      refute Kvw.valid_key?(key), key.inspect
      error = assert_raises(Kvw::InvalidKey, key.inspect) { @bucket.put(key, "v") }
      assert_equal Kvw::InvalidKey::CODE, error.code
      assert_equal "KVW_EBADKEY", error.name
      assert_kind_of Kvw::InvalidArgument, error
      assert_raises(Kvw::InvalidKey) { @bucket.get(key) }
      assert_raises(Kvw::InvalidKey) { @bucket.put_async(key, "v") { flunk "block must not run" } }
    end
    assert_raises(TypeError) { @bucket.put(42, "v") }
    assert_raises(TypeError) { @bucket.put("k", 42) }
    # nil key or expected version: TypeError at the call, async forms too.
    assert_raises(TypeError) { @bucket.put(nil, "v") }
    assert_raises(TypeError) { @bucket.put_async(nil, "v") { flunk "block must not run" } }
    assert_raises(TypeError) { @bucket.update_async("k", "v", nil) { flunk "block must not run" } }
    # Nothing reached the stream.
    assert_equal before.revision + 1, @bucket.put("probe", "y").revision
  end

  def test_large_value_roundtrip
    value = (0...512 * 1024).map { |i| (i * 31 + 7) & 0xff }.pack("C*")
    @bucket.put("big", value)
    assert_equal value, @bucket.get("big")
  end

  def test_get_missing_key_is_nil
    assert_nil @bucket.get("never")
    assert_nil @bucket.get_entry("never")
  end

  def test_create_new_key
    version = @bucket.create("k", "first")
    assert_equal "first", @bucket.get("k")
    assert_equal version, @bucket.get_entry("k").version
  end

  def test_create_on_live_key_raises_already_exists
    live = @bucket.put("k", "live")
    error = assert_raises(Kvw::AlreadyExists) { @bucket.create("k", "other") }
    assert_equal :create, error.op
    assert_equal "k", error.key
    assert_equal "KVW_EEXIST", error.name
    refute error.retryable?
    refute error.outcome_unknown?
    assert_equal live, error.version if error.version
    assert_equal "live", @bucket.get("k")
    # The refused create wrote nothing.
    assert_equal live.revision + 1, @bucket.put("other", "x").revision
  end

  def test_create_after_delete_succeeds
    put = @bucket.put("k", "v1")
    del = @bucket.delete("k")
    assert_operator del.revision, :>, put.revision
    created = @bucket.create("k", "v2")
    assert_operator created.revision, :>, del.revision
    assert_equal "v2", @bucket.get("k")
    assert_equal created, @bucket.get_entry("k").version
    assert_raises(Kvw::AlreadyExists) { @bucket.create("k", "v3") }
  end

  def test_create_after_purge_succeeds
    @bucket.put("k", "v1")
    @bucket.purge("k")
    @bucket.create("k", "v2")
    assert_equal "v2", @bucket.get("k")
  end

  def test_create_after_delete_with_version_raises_already_exists
    put = @bucket.put("k", "v1")
    tomb = @bucket.delete_with_version("k", put)
    2.times do
      error = assert_raises(Kvw::AlreadyExists) { @bucket.create("k", "v2") }
      assert_equal tomb, error.version if error.version
    end
    entry = @bucket.get_entry("k")
    assert_equal :put, entry.op
    assert_equal "", entry.value
    assert entry.tombstone?
    assert entry.deleted?
    assert_equal tomb, entry.version
  end

  def test_racing_creates_exactly_one_wins
    [true, false].each do |deleted_first|
      8.times do |round|
        key = "race#{deleted_first ? 'del' : 'fresh'}#{round}"
        if deleted_first
          @bucket.put(key, "old")
          @bucket.delete(key)
        end
        gate = Queue.new
        threads = %w[A B].map do |who|
          Thread.new do
            gate.pop
            begin
              [who, @bucket.create(key, "from-#{who}")]
            rescue Kvw::AlreadyExists => e
              [who, e]
            end
          end
        end
        2.times { gate << :go }
        results = threads.map(&:value)
        winners = results.reject { |_, r| r.is_a?(Kvw::Error) }
        assert_equal 1, winners.size, "#{key}: #{results.inspect}"
        who, version = winners.first
        assert_equal "from-#{who}", @bucket.get(key)
        assert_equal version, @bucket.get_entry(key).version
      end
    end
  end

  def test_update_is_compare_and_swap
    v1 = @bucket.put("k", "v1")
    v2 = @bucket.update("k", "v2", v1)
    assert_operator v2.revision, :>, v1.revision
    error = assert_raises(Kvw::Conflict) { @bucket.update("k", "v3", v1) }
    assert_equal :update, error.op
    assert_equal 10_071, error.server_error
    assert_equal "KVW_ECONFLICT", error.name
    assert_equal v2, error.version if error.version
    assert_equal "v2", @bucket.get("k")
    # The current version keeps working; so do its text and revision.
    v3 = @bucket.update("k", "v4", v2.to_s)
    @bucket.update("k", "v5", v3.revision)
  end

  def test_update_of_missing_key_conflicts
    other = @bucket.put("other", "x")
    error = assert_raises(Kvw::Conflict) { @bucket.update("missing", "v", other) }
    assert_equal 10_071, error.server_error
    assert_nil @bucket.get_entry("missing")
  end

  def test_delete_with_version_leaves_a_tombstone
    v1 = @bucket.put("k", "v1")
    v2 = @bucket.put("k", "v2")
    stale = assert_raises(Kvw::Conflict) { @bucket.delete_with_version("k", v1) }
    assert_equal :delete_with_version, stale.op
    assert_equal 10_071, stale.server_error
    assert_equal "v2", @bucket.get("k")

    tomb = @bucket.delete_with_version("k", v2)
    assert_operator tomb.revision, :>, v2.revision
    entry = @bucket.get_entry("k")
    assert_equal :put, entry.op
    assert_equal "", entry.value
    assert_equal tomb, entry.version
    assert_nil @bucket.get("k"), "get says not found for the empty-value tombstone"
    # A writer still holding the old version now conflicts.
    assert_raises(Kvw::Conflict) { @bucket.update("k", "late", v2) }
  end

  def test_delete_with_version_of_missing_key_conflicts
    other = @bucket.put("other", "x")
    assert_raises(Kvw::Conflict) { @bucket.delete_with_version("missing", other) }
    assert_raises(Kvw::Conflict) { @bucket.delete_with_version("missing", 1) }
    assert_nil @bucket.get_entry("missing")
  end

  def test_update_over_the_tombstone_revives_the_key
    put = @bucket.put("k", "v1")
    @bucket.delete_with_version("k", put)
    tomb = @bucket.get_entry("k")
    alive = @bucket.update("k", "alive", tomb.version)
    assert_equal "alive", @bucket.get("k")
    assert_equal alive, @bucket.get_entry("k").version
    assert_raises(Kvw::AlreadyExists) { @bucket.create("k", "again") }
  end

  def test_delete_writes_a_marker
    put = @bucket.put("k", "v1")
    del = @bucket.delete("k")
    assert_operator del.revision, :>, put.revision
    assert_nil @bucket.get("k")
    entry = @bucket.get_entry("k")
    assert_equal :delete, entry.op
    assert entry.delete?
    assert entry.deleted?
    assert_equal "", entry.value
    assert_equal del, entry.version
    # Best effort: deleting a key that never existed succeeds.
    assert_kind_of Kvw::Version, @bucket.delete("never")
  end

  def test_purge_writes_a_purge_marker
    bucket = open_bucket("purge", history: 10)
    bucket.put("k", "v1")
    bucket.put("k", "v2")
    bucket.put("k", "v3")
    bucket.put("keep", "x")
    purged = bucket.purge("k")
    assert_nil bucket.get("k")
    entry = bucket.get_entry("k")
    assert_equal :purge, entry.op
    assert entry.purge?
    assert_equal purged, entry.version
    assert_equal "x", bucket.get("keep"), "other keys keep their data"
    bucket.create("k", "new")
    assert_equal "new", bucket.get("k")
  end

  def test_get_treats_an_empty_value_as_absent
    v = @bucket.put("k", nil)
    assert_nil @bucket.get("k")
    entry = @bucket.get_entry("k")
    assert_equal :put, entry.op
    assert_equal "", entry.value
    assert entry.tombstone?
    assert_equal v, entry.version
    @bucket.put("k2", "")
    assert_nil @bucket.get("k2")
  end

  def test_versions_are_stream_sequences
    r = []
    r << @bucket.put("a", "a1")                      # 1
    r << @bucket.put("b", "b1")                      # 2
    r << @bucket.create("c", "c1")                   # 3
    r << @bucket.update("a", "a2", r[0])             # 4
    r << @bucket.delete("b")                         # 5
    r << @bucket.delete_with_version("c", r[2])      # 6
    r << @bucket.purge("a")                          # 7
    r << @bucket.create("b", "b2")                   # 8: over the DEL marker
    r << @bucket.update("c", "c2", r[5])             # 9: over the tombstone
    r << @bucket.put("d", "d1")                      # 10
    assert_equal (1..10).to_a, r.map(&:revision)
    assert_equal r[8], @bucket.get_entry("c").version
    assert_equal r[6], @bucket.get_entry("a").version
  end

  def test_bad_versions_are_refused_before_anything_is_sent
    v = @bucket.put("k", "v1")
    assert_raises(Kvw::InvalidVersion) { @bucket.update("k", "x", Kvw::Version::UNKNOWN) }
    assert_raises(Kvw::InvalidVersion) { @bucket.update("k", "x", Kvw::Version.parse("x:010203")) }
    assert_raises(Kvw::InvalidVersion) { @bucket.delete_with_version("k", Kvw::Version::UNKNOWN) }
    assert_raises(Kvw::InvalidVersion) { @bucket.delete_with_version("k", "x:010203") }
    assert_raises(Kvw::InvalidVersion) { @bucket.update("k", "x", "42x") }
    assert_raises(Kvw::InvalidVersion) { @bucket.update("k", "x", 0) }
    assert_raises(TypeError) { @bucket.update("k", "x", 1.5) }
    assert_equal v.revision + 1, @bucket.put("k", "v2").revision
  end

  def test_versions_round_trip_through_their_text
    written = [@bucket.put("a", "1"), @bucket.create("b", "2"), @bucket.delete("a")]
    written.each do |v|
      text = v.to_s
      assert_match(/\A[1-9][0-9]*\z/, text)
      back = Kvw::Version.parse(text)
      assert_equal v, back
      assert v.eql?(back)
      assert_equal v.hash, back.hash
      assert_equal v.revision, back.revision
      assert_equal v, Kvw::Version.from_revision(v.revision)
    end
    # A version read back from its text works for CAS.
    saved = @bucket.put("cas", "x").to_s
    @bucket.update("cas", "y", Kvw::Version.parse(saved))
    assert_equal "y", @bucket.get("cas")
  end
end
