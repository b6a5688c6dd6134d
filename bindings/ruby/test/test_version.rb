# frozen_string_literal: true

# Kvw::Version and the error classes (no server needed).
require_relative "helper"

class TestVersion < Minitest::Test
  def test_parse_and_text_form
    v = Kvw::Version.parse("42")
    assert_equal "42", v.to_s
    assert_equal 42, v.revision
    refute v.unknown?
    assert_equal "#<Kvw::Version 42>", v.inspect
    assert v.frozen?
    assert_same v, Kvw::Version.parse(v)

    big = Kvw::Version.parse("18446744073709551615")
    assert_equal 2**64 - 1, big.revision
    assert_equal big, Kvw::Version.from_revision(2**64 - 1)

    unknown = Kvw::Version.parse("unknown")
    assert unknown.unknown?
    assert_nil unknown.revision
    assert_equal Kvw::Version::UNKNOWN, unknown

    foreign = Kvw::Version.parse("x:ab01ff")
    refute foreign.unknown?
    assert_nil foreign.revision
    assert_equal "x:ab01ff", foreign.to_s
    full = Kvw::Version.parse("x:#{'ee' * 15}")
    assert_equal "x:#{'ee' * 15}", full.to_s
  end

  def test_equality_and_hash
    a = Kvw::Version.from_revision(42)
    b = Kvw::Version.parse("42")
    c = Kvw::Version.from_revision(43)
    assert_equal a, b
    assert a.eql?(b)
    assert_equal a.hash, b.hash
    refute_equal a, c
    refute_equal a, "42", "a Version is not equal to its text"
    refute_equal a, 42
    h = { a => :first }
    assert_equal :first, h[b]
    assert_equal 2, [a, b, c].uniq.size
    refute_equal Kvw::Version::UNKNOWN, a
    refute_equal Kvw::Version.parse("x:ab"), Kvw::Version.parse("x:ab01")
  end

  def test_junk_is_refused
    junk = ["", " ", "abc", "-1", "+1", "42x", " 42", "42 ", "4 2", "0x2a", "1e3", "0", "042",
            "18446744073709551616", "99999999999999999999999", "x:", "x:zz", "x:abc", "X:ab",
            "x:0g", "x:AB", "unknownx", "Unknown", "x:00112233445566778899aabbccddeeff",
            "x:000000000000002a", "4\0002"]
    junk.each do |text|
      error = assert_raises(Kvw::InvalidVersion, text.inspect) { Kvw::Version.parse(text) }
      assert_equal "KVW_EBADVERSION", error.name
    end
    assert_raises(TypeError) { Kvw::Version.parse(42) }
    assert_raises(Kvw::InvalidVersion) { Kvw::Version.from_revision(0) }
    assert_raises(Kvw::InvalidVersion) { Kvw::Version.from_revision(-1) }
    assert_raises(Kvw::InvalidVersion) { Kvw::Version.from_revision(2**64) }
    assert_raises(NoMethodError) { Kvw::Version.new("1") }
  end

  def test_errors_have_codes_names_and_predicates
    table = {
      Kvw::InvalidArgument => "KVW_EINVAL", Kvw::InvalidKey => "KVW_EBADKEY",
      Kvw::InvalidBucketName => "KVW_EBADNAME", Kvw::InvalidVersion => "KVW_EBADVERSION",
      Kvw::TooBig => "KVW_ETOOBIG", Kvw::AlreadyExists => "KVW_EEXIST",
      Kvw::Conflict => "KVW_ECONFLICT", Kvw::NotFound => "KVW_ENOTFOUND",
      Kvw::Timeout => "KVW_ETIMEDOUT", Kvw::NotConnected => "KVW_ENOTCONN",
      Kvw::NoBucket => "KVW_ENOBUCKET", Kvw::Full => "KVW_EFULL", Kvw::Closed => "KVW_ECLOSED",
      Kvw::Busy => "KVW_EBUSY", Kvw::NoMemory => "KVW_ENOMEM",
      Kvw::AuthenticationFailed => "KVW_EAUTH", Kvw::PermissionDenied => "KVW_EPERM",
      Kvw::TLSError => "KVW_ETLS", Kvw::ServerError => "KVW_ESERVER",
      Kvw::InternalError => "KVW_EINTERNAL"
    }
    codes = table.keys.map { |k| k::CODE }
    assert_equal codes.uniq.size, codes.size
    table.each do |klass, name|
      assert_operator klass, :<, Kvw::Error
      assert_operator klass, :<, StandardError
      e = Kvw::Error.for_code(klass::CODE, nil, op: :put, key: "k")
      assert_instance_of klass, e
      assert_equal name, e.name
      assert_equal klass::CODE, e.code
      assert_equal :put, e.op
      assert_equal "k", e.key
      assert_includes e.message, name
      assert_equal klass::CODE, klass.new.code
    end
    assert Kvw::Timeout.new.retryable?
    assert Kvw::Timeout.new.outcome_unknown?
    assert Kvw::Busy.new.retryable?
    refute Kvw::Busy.new.outcome_unknown?
    assert Kvw::NotConnected.new.retryable?
    refute Kvw::Conflict.new.retryable?
    refute Kvw::Conflict.new.outcome_unknown?
    assert Kvw::Closed.new.outcome_unknown?, "a write cancelled at close may have landed"
    assert_instance_of Kvw::Error, Kvw::Error.for_code(-99)
    e = Kvw::Error.for_code(Kvw::Conflict::CODE, "wrong last sequence", op: :update, key: "k",
                            server_error: 10_071)
    assert_equal 'update "k": wrong last sequence (KVW_ECONFLICT, JetStream error 10071)', e.message
  end

  def test_library_metadata
    assert_match(/\A\d+\.\d+\.\d+\z/, Kvw.library_version)
    assert_match(/\A\d+\.\d+\.\d+\z/, Kvw::VERSION)
    assert Kvw.valid_key?("a/b=c_d-e.f")
    refute Kvw.valid_key?("a..b")
    assert Kvw.valid_bucket_name?("Ab_9-x")
    refute Kvw.valid_bucket_name?("a.b")
    refute Kvw.valid_bucket_name?("a\0b")
  end
end
