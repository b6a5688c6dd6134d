# frozen_string_literal: true

# Issue 16's cluster scenario through Ruby, with the faults: 8 threads put,
# get and update 4 keys of an R3 bucket through one client while the stream
# leader is SIGKILLed and restarted, and later the new leader is SIGSTOPped
# for 2 s. The same counts as the C, Go and Java runs: no op fails before its
# deadline, no get is older than an op completed before it was called, a
# stale CAS is Kvw::Conflict. It starts its own 3-node cluster (it kills
# nodes); KVW_TEST_CLUSTER_FAULTS=1 runs it (run-tests.sh does).
require_relative "helper"
require "json"
require "socket"
require "tmpdir"
require "fileutils"

class TestClusterFaults < Minitest::Test
  DEADLINE = 5

  # Three nodes on loopback with free ports and their own stores.
  class Cluster
    def initialize
      @dir = Dir.mktmpdir("kvw-rb-cluster-")
      @client = Array.new(3) { free_port }
      @route = Array.new(3) { free_port }
      @pid = Array.new(3)
      3.times { |i| start(i) }
    end

    def free_port
      s = TCPServer.new("127.0.0.1", 0)
      s.addr[1]
    ensure
      s&.close
    end

    def urls
      @client.map { |p| "nats://127.0.0.1:#{p}" }.join(",")
    end

    def start(i)
      routes = (0..2).reject { |j| j == i }.map { |j| "nats://127.0.0.1:#{@route[j]}" }.join(",")
      name = "n#{i + 1}"
      @pid[i] = Process.spawn("nats-server", "-js", "-a", "127.0.0.1", "-p", @client[i].to_s,
                              "--server_name", name, "--cluster_name", "kvwruby",
                              "--cluster", "nats://127.0.0.1:#{@route[i]}", "--routes", routes,
                              "-sd", File.join(@dir, name),
                              in: File::NULL, out: File.join(@dir, "#{name}.log"), err: %i[child out])
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10
      begin
        TCPSocket.new("127.0.0.1", @client[i]).close
      rescue SystemCallError
        raise "node #{name} did not listen" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.02
        retry
      end
    end

    def kill(i)
      return unless @pid[i]

      Process.kill(:CONT, @pid[i])
      Process.kill(:KILL, @pid[i])
      Process.wait(@pid[i])
      @pid[i] = nil
    end

    def signal(i, sig)
      Process.kill(sig, @pid[i])
    end

    # One JetStream API request over the NATS text protocol; the reply's body.
    def request(port, subject)
      s = TCPSocket.new("127.0.0.1", port)
      s.write("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB _kvw.reply 1\r\nPUB #{subject} _kvw.reply 0\r\n\r\n")
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 1
      while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
        next unless s.wait_readable(0.2)

        line = s.gets("\r\n") or return nil
        s.write("PONG\r\n") if line.start_with?("PING")
        next unless line.start_with?("MSG ")

        body = s.read(line.split.last.to_i + 2)
        return body&.chomp("\r\n")
      end
      nil
    rescue SystemCallError
      nil
    ensure
      s&.close
    end

    # The index of the stream's leader, asked of the nodes that are up.
    def leader(stream)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
      while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
        3.times do |i|
          next unless @pid[i]

          body = request(@client[i], "$JS.API.STREAM.INFO.#{stream}") or next
          name = JSON.parse(body).dig("cluster", "leader") rescue nil
          j = name && name[1..].to_i - 1
          return j if j && @pid[j]
        end
        sleep 0.1
      end
      raise "no leader for #{stream}"
    end

    def close
      3.times { |i| kill(i) }
      FileUtils.rm_rf(@dir)
    end
  end

  def now
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  def test_leader_kill_and_stop
    skip "KVW_TEST_CLUSTER_FAULTS=1 runs it (run-tests.sh)" unless ENV["KVW_TEST_CLUSTER_FAULTS"] == "1"

    cl = Cluster.new
    Kvw::Client.connect(servers: cl.urls, op_timeout: DEADLINE, max_reconnect: -1, reconnect_wait: 0.1) do |client|
      name = KvwTest.unique("rbfault")
      deadline = now + 30
      bucket = begin
        client.bucket(name, create: true, replicas: 3)
      rescue Kvw::Error
        raise if now > deadline

        sleep 0.2 # the cluster may still be forming
        retry
      end
      seen = Array.new(4, 0)
      mu = Mutex.new
      counts = Hash.new(0)
      start = now
      stop = start + 12
      threads = Array.new(8) do |t|
        Thread.new do
          rng = Random.new(t)
          mine = {}
          while now < stop
            k = rng.rand(4)
            key = "k#{k}"
            t0 = now
            mu.synchronize { counts[:ops] += 1 }
            begin
              case rng.rand(3)
              when 0
                before = mu.synchronize { seen[k] }
                e = bucket.get_entry(key)
                got = e ? e.version.revision : 0
                mu.synchronize do
                  counts[:stale] += 1 if got < before
                  seen[k] = got if got > seen[k]
                end
                mine[k] = e.version if e
                next
              when 1 then v = bucket.put(key, "p#{t}.#{t0}")
              else v = mine[k] ? bucket.update(key, "u#{t}.#{t0}", mine[k]) : bucket.put(key, "p#{t}.#{t0}")
              end
              mine[k] = v
              mu.synchronize { seen[k] = v.revision if v.revision > seen[k] }
            rescue Kvw::Conflict
              mu.synchronize { counts[:conflicts] += 1 }
            rescue Kvw::Error => e
              mu.synchronize do
                counts[:failed] += 1
                if now - t0 < DEADLINE - 0.1
                  counts[:early] += 1
                  warn "failed before its deadline: #{e.message}"
                end
                # A stale CAS must be a conflict; one whose deadline passed
                # (outcome unknown) may carry the 10164 of an earlier try.
                counts[:misreported] += 1 if e.server_error == 10_164 && !e.is_a?(Kvw::Timeout)
              end
            end
          end
        end
      end
      stream = "KV_#{name}"
      sleep 3
      victim = cl.leader(stream)
      cl.kill(victim)
      sleep 1
      cl.start(victim)
      sleep [0, 7 - (now - start)].max
      paused = cl.leader(stream)
      cl.signal(paused, :STOP)
      sleep 2
      cl.signal(paused, :CONT)
      threads.each(&:join)
      puts "FIGURES ruby cluster faults: #{counts[:ops]} ops in 12 s, leader n#{victim + 1} killed at 3 s and " \
           "restarted, leader n#{paused + 1} stopped 2 s at 7 s: #{counts[:conflicts]} conflicts, " \
           "#{counts[:failed]} failed (#{counts[:early]} before their deadline), #{counts[:stale]} gets older " \
           "than a completed op, #{counts[:misreported]} 10164 not reported as conflicts"
      assert_equal 0, counts[:early]
      # nats-server 2.9 may lose the writes its stream leader acked just before
      # a SIGKILL (RELIABILITY.md, guarantee 2; 2.10 fixed it): a get after that
      # reads the version before them. Counted, not failed, there; 2.10+ (the
      # bindings-newest stage runs this on 2.15.2) must show none.
      major, minor = client.server_version.split(".").map(&:to_i)
      if major == 2 && minor < 10 && counts[:stale].positive?
        puts "NOTE nats-server #{client.server_version}: #{counts[:stale]} gets older than a completed op " \
             "after a leader kill (a 2.9 server defect; not counted)"
      else
        assert_equal 0, counts[:stale]
      end
      assert_equal 0, counts[:misreported]
      assert_operator counts[:ops], :>, 100
    end
  ensure
    cl&.close
  end
end
