# frozen_string_literal: true

# Async put throughput of the Ruby binding, comparable to /tmp/smoke/tput.c:
#   ruby bench/put_bench.rb URL [N=100000] [WINDOW=16384] [KEYS=1000] [VALUE_BYTES=128]
# N puts of VALUE_BYTES-byte values over KEYS keys, at most WINDOW in flight
# (the client's max_inflight; a submit refused with Kvw::Busy waits for
# completions and retries). Prints ops/s.
require "kvw"

url = ARGV.fetch(0) { abort "usage: put_bench.rb URL [N] [WINDOW] [KEYS] [VALUE_BYTES]" }
n = Integer(ARGV.fetch(1, 100_000))
window = Integer(ARGV.fetch(2, 16_384))
nkeys = Integer(ARGV.fetch(3, 1000))
value = ("x" * Integer(ARGV.fetch(4, 128))).b.freeze
keys = Array.new(nkeys) { |i| "k#{i}".freeze }

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
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
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
  seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
  printf("ruby: %d ops in %.3fs = %.0f ops/s fails=%d busy=%d\n", n, seconds, n / seconds, fails, busy)
  exit 1 unless fails.zero?
end
