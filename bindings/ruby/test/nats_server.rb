# frozen_string_literal: true

require "json"
require "tmpdir"
require "fileutils"

module KvwTest
  # A private nats-server -js on a free loopback port with a temporary store.
  class NatsServer
    attr_reader :url, :pid, :dir

    def self.start
      server = new
      server.start
      server
    end

    def start
      @dir = Dir.mktmpdir("kvw-rb-nats-")
      @pid = Process.spawn("nats-server", "-js", "-a", "127.0.0.1", "-p", "-1",
                           "--ports_file_dir", @dir, "-sd", File.join(@dir, "store"),
                           in: File::NULL, out: File.join(@dir, "server.log"), err: %i[child out])
      ports = File.join(@dir, "nats-server_#{@pid}.ports")
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 15
      until (@url = read_url(ports))
        if Process.waitpid(@pid, Process::WNOHANG)
          @pid = nil
          raise "nats-server exited early:\n#{File.read(File.join(@dir, 'server.log'))}"
        end
        raise "nats-server did not write #{ports}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.02
      end
      self
    end

    # SIGSTOP, and wait until every thread of the process is really stopped
    # (Linux: state T in /proc/PID/task/*/stat), so that nothing sent after
    # this returns gets an answer.
    def pause
      Process.kill(:STOP, @pid)
      tasks = "/proc/#{@pid}/task"
      return unless File.directory?(tasks)

      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 5
      until all_stopped?(tasks)
        raise "nats-server #{@pid} did not stop" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.001
      end
    end

    def all_stopped?(tasks)
      Dir.children(tasks).all? do |t|
        File.read("#{tasks}/#{t}/stat")[/\) (\w)/, 1] == "T"
      rescue SystemCallError
        true # the thread exited
      end
    end

    def resume
      Process.kill(:CONT, @pid)
    end

    def stop
      if @pid
        begin
          Process.kill(:CONT, @pid)
          Process.kill(:TERM, @pid)
          Process.wait(@pid)
        rescue Errno::ESRCH, Errno::ECHILD
          nil
        end
        @pid = nil
      end
      FileUtils.rm_rf(@dir) if @dir
    end

    private

    def read_url(path)
      return nil unless File.file?(path)

      url = JSON.parse(File.read(path)).fetch("nats", []).first
      url && !url.empty? ? url : nil
    rescue JSON::ParserError
      nil
    end
  end
end
