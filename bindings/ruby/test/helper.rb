# frozen_string_literal: true

# Shared set-up of the kvw Ruby tests. The nats-server comes from
# KVW_TEST_SERVER (a URL; run-tests.sh starts one) or is started here, once
# per process, on a free loopback port with a temporary store.
require "minitest/autorun"
require "kvw"
require "timeout"
require_relative "nats_server"

module KvwTest
  class << self
    def url
      @url ||= ENV["KVW_TEST_SERVER"] || begin
        @server = NatsServer.start
        Minitest.after_run { @server.stop }
        @server.url
      end
    end

    def unique(prefix)
      @seq = (@seq || 0) + 1
      "#{prefix}_#{Process.pid}_#{@seq}_#{rand(1 << 30)}"
    end
  end

  # A connected client and a fresh bucket per test; both closed afterwards.
  class Case < Minitest::Test
    make_my_diffs_pretty!

    def setup
      @clients = []
      @client = connect
      @bucket = open_bucket
    end

    def teardown
      @clients.each(&:close)
    end

    def connect(**opts)
      client = Kvw::Client.connect(servers: KvwTest.url, name: "kvw-ruby-test", **opts)
      @clients << client
      client
    end

    def open_bucket(prefix = "rb", client: @client, **opts)
      client.bucket(KvwTest.unique(prefix), create: true, **opts)
    end

    # Waits (bounded) until +cond+ holds; fails with +message+ otherwise.
    def wait_until(seconds = 30, message = "condition not met in time")
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
      until yield
        flunk message if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        sleep 0.005
      end
    end

    # Bounded Queue#pop (Ruby 3.1's Queue#pop has no timeout).
    def pop(queue, seconds = 30)
      Timeout.timeout(seconds) { queue.pop }
    end
  end
end
