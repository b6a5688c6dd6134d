# frozen_string_literal: true

module Kvw
  # An opaque version token: the version a write produced or a read saw,
  # handed back to update / delete_with_version for compare-and-swap.
  #
  # For NATS it is the KV revision (the stream sequence, increasing across the
  # whole bucket). Its text form is stable ("42", "unknown", or "x:<hex>" for
  # a token that is no NATS revision) and has one spelling per token, so a
  # version can be stored and parsed back later, by another process or
  # language. Versions are immutable values: == / eql? / hash compare tokens,
  # so they work as Hash keys.
  class Version
    # The stable text form.
    attr_reader :text
    alias to_s text

    # Parses the text form ("42", "unknown", "x:0a0b…"). Raises
    # Kvw::InvalidVersion on anything else (no sign, no leading zero, no spaces).
    def self.parse(text)
      return text if text.is_a?(Version)
      raise TypeError, "version text must be a String, not #{text.class}" unless text.is_a?(String)
      if text.include?("\0") || Native.kvwb_version_check(text) != 0
        raise InvalidVersion.new("not a kvw version: #{text.inspect}")
      end
      from_canonical(text)
    end

    # The version of NATS revision +revision+ (an Integer >= 1).
    def self.from_revision(revision)
      raise TypeError, "revision must be an Integer" unless revision.is_a?(Integer)
      raise InvalidVersion.new("revision must be >= 1, got #{revision}") if revision < 1
      raise InvalidVersion.new("revision out of range: #{revision}") if revision >= 1 << 64
      new(revision.to_s)
    end

    # Coerces what users pass as an expected version: a Version, its text, or
    # a revision number. :nodoc:
    def self.coerce(value)
      case value
      when Version then value
      when String then parse(value)
      when Integer then from_revision(value)
      else raise TypeError, "expected a Kvw::Version, String or Integer, not #{value.class}"
      end
    end

    # Text already produced by kvw's formatter (completions). :nodoc:
    def self.from_canonical(text)
      text == UNKNOWN_TEXT ? UNKNOWN : new(text)
    end

    def initialize(text)
      @text = text.frozen? ? text : text.dup.freeze
      freeze
    end
    private_class_method :new

    UNKNOWN_TEXT = "unknown"
    private_constant :UNKNOWN_TEXT

    # The unknown version ("no version"; writes never return it).
    UNKNOWN = new(UNKNOWN_TEXT)

    # True for the unknown token.
    def unknown?
      @text == UNKNOWN_TEXT
    end

    # The NATS revision as an Integer, or nil (unknown, or not a NATS token).
    def revision
      @text.match?(/\A[1-9][0-9]*\z/) ? @text.to_i : nil
    end

    def ==(other)
      other.is_a?(Version) && other.text == @text
    end
    alias eql? ==

    def hash
      [Version, @text].hash
    end

    def inspect
      "#<Kvw::Version #{@text}>"
    end
  end
end
