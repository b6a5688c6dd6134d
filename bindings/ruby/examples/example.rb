# frozen_string_literal: true

# The README example:  ruby examples/example.rb nats://127.0.0.1:4222
require "kvw"

Kvw::Client.connect(servers: ARGV.fetch(0, "nats://127.0.0.1:4222"), op_timeout: 5) do |client|
  bucket = client.bucket("example", create: true)

  # Blocking calls return a Kvw::Version or raise a typed Kvw::Error (the GVL is released).
  v1 = bucket.put("greeting", "hello\0world".b)          # values are bytes, NUL included
  puts "put greeting -> version #{v1}, get -> #{bucket.get('greeting').inspect}"
  v2 = bucket.update("greeting", "hi", v1)                # compare-and-swap
  begin
    bucket.update("greeting", "stale", v1)
  rescue Kvw::Conflict => e
    puts "stale update refused: #{e.name} (JetStream #{e.server_error})"
  end
  puts "get greeting -> #{bucket.get('greeting').inspect}"

  # Async: the block runs once on the client's dispatcher thread.
  done = Queue.new
  10.times do |i|
    bucket.put_async("counter.#{i}", i.to_s) { |version, error| done << (error || version) }
  end
  puts "10 async puts -> versions #{Array.new(10) { done.pop }.map(&:to_s).sort_by(&:to_i).join(' ')}"

  bucket.delete_with_version("greeting", v2)              # tombstone: create keeps refusing
  entry = bucket.get_entry("greeting")
  puts "after delete_with_version: get -> #{bucket.get('greeting').inspect}, " \
       "get_entry -> #{entry.op} #{entry.value.inspect} @ #{entry.version}"
  saved = entry.version.to_s                              # versions round-trip through text
  bucket.update("greeting", "revived", Kvw::Version.parse(saved))
  puts "revived -> #{bucket.get('greeting').inspect}"
end
