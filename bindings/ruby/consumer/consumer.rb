# frozen_string_literal: true

# A script outside the kvw tree using the installed gem, as a user's would
# (run-tests.sh copies it into a temporary directory with a clean GEM_HOME):
# put, create twice, stale update, get. Exit 0 only if each does what the
# README says. Usage: ruby consumer.rb nats://127.0.0.1:4222
require "kvw"

def fail!(msg)
  warn "consumer: #{msg}"
  exit 1
end

Kvw::Client.connect(servers: ARGV.fetch(0)) do |client|
  bucket = client.bucket("ruby_consumer", create: true)
  v1 = bucket.put("k", "v1")
  bucket.create("c", "x")
  begin
    bucket.create("c", "y")
    fail! "second create was not refused"
  rescue Kvw::AlreadyExists
    nil
  end
  v2 = bucket.update("k", "v2", v1)
  begin
    bucket.update("k", "stale", v1)
    fail! "stale update was not refused"
  rescue Kvw::Conflict => e
    fail! "the conflict names #{e.version.inspect}, want #{v2}" unless e.version == v2
  end
  fail! "get gave #{bucket.get('k').inspect}" unless bucket.get("k") == "v2"
  lib = $LOADED_FEATURES.grep(/kvw_native/).first
  puts "ruby consumer ok: put #{v1}, update #{v2}, second create and stale update refused (#{lib})"
end
