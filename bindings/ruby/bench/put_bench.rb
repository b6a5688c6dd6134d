# frozen_string_literal: true

# Put throughput of the Ruby binding:
#   ruby bench/put_bench.rb [--rows] [--blocking N] URL [N=100000] [WINDOW=16384] [KEYS=1000] [VALUE_BYTES=128]
# N async puts of VALUE_BYTES-byte values over KEYS keys, at most WINDOW in
# flight (the client's max_inflight; a submit refused with Kvw::Busy waits for
# completions and retries), then --blocking N (default 0) blocking puts.
# Prints ops/s; with --rows also one line per phase for scripts/bench-langs.sh:
#   ROW <TAB> ruby <TAB> phase <TAB> ops <TAB> seconds <TAB> fails
# There is no official Ruby NATS client with KV here, so no baseline rows.
# Exits 1 if any put failed.
require "optparse"
require "kvw"

rows = false
blocking = 0
OptionParser.new do |o|
  o.banner = "usage: put_bench.rb [--rows] [--blocking N] URL [N] [WINDOW] [KEYS] [VALUE_BYTES]"
  o.on("--rows", "print ROW lines") { rows = true }
  o.on("--blocking N", Integer, "blocking puts after the async run") { |v| blocking = v }
end.parse!

url = ARGV.fetch(0) { abort "usage: put_bench.rb [--rows] [--blocking N] URL [N] [WINDOW] [KEYS] [VALUE_BYTES]" }
n = Integer(ARGV.fetch(1, 100_000))
window = Integer(ARGV.fetch(2, 16_384))
nkeys = Integer(ARGV.fetch(3, 1000))
value = ("x" * Integer(ARGV.fetch(4, 128))).b.freeze
keys = Array.new(nkeys) { |i| "k#{i}".freeze }
clock = -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }
report = lambda do |phase, ops, seconds, fails, extra = ""|
  printf("ruby %s: %d ops in %.3fs = %.0f ops/s fails=%d%s\n", phase, ops, seconds, ops / seconds, fails, extra)
  printf("ROW\truby\t%s\t%d\t%.6f\t%d\n", phase, ops, seconds, fails) if rows
end
failed = false

Kvw::Client.connect(servers: url, max_inflight: window, name: "kvw-ruby-bench") do |client|
  bucket = client.bucket("tput", create: true)
  done = 0
  fails = 0
  busy = 0
  finished = Queue.new
  on_done = proc do |_version, error|
    fails += 1 if error
    done += 1
    finished << true if done == n
  end
  t0 = clock.call
  i = 0
  while i < n
    begin
      bucket.put_async(keys[i % nkeys], value, &on_done)
      i += 1
    rescue Kvw::Busy
      busy += 1
      sleep 0.0005 # let the dispatcher complete some
    end
  end
  finished.pop
  report.call("kvw_async_put", n, clock.call - t0, fails, " busy=#{busy}")
  failed ||= fails.positive?

  next if blocking.zero?

  fails = 0
  t0 = clock.call
  blocking.times do |j|
    bucket.put(keys[j % nkeys], value)
  rescue Kvw::Error
    fails += 1
  end
  report.call("kvw_blocking_put", blocking, clock.call - t0, fails)
  failed ||= fails.positive?
end
exit 1 if failed
