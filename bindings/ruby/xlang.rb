# frozen_string_literal: true

# Cross-language test driver (run through xlang.sh):
#   xlang.rb --server URL --bucket NAME put KEY HEX              -> version          (exit 0)
#   xlang.rb --server URL --bucket NAME update KEY HEX VERSION   -> version; exit 3 on conflict
#   xlang.rb --server URL --bucket NAME get KEY                  -> hex value, then version; exit 4 if not found
#   xlang.rb --server URL --bucket NAME create KEY HEX           -> version; exit 3 if it exists
# The bucket is opened with create: true. Other failures: message on stderr, exit 1; usage: exit 2.
require "kvw"

def usage(msg)
  warn "xlang: #{msg}"
  warn "usage: xlang.sh --server URL --bucket NAME (put KEY HEX | update KEY HEX VERSION | get KEY | create KEY HEX)"
  exit 2
end

def unhex(text)
  usage("not hex: #{text.inspect}") unless text.match?(/\A(?:[0-9a-fA-F]{2})*\z/)
  [text].pack("H*")
end

server = nil
bucket_name = nil
args = ARGV.dup
while args.first&.start_with?("--")
  opt = args.shift
  case opt
  when "--server" then server = args.shift
  when "--bucket" then bucket_name = args.shift
  else usage("unknown option #{opt}")
  end
end
usage("--server and --bucket are required") unless server && bucket_name
command, *rest = args
arity = { "put" => 2, "update" => 3, "get" => 1, "create" => 2 }
usage("unknown command #{command.inspect}") unless arity.key?(command)
usage("#{command} takes #{arity[command]} argument(s)") unless rest.size == arity[command]

begin
  Kvw::Client.connect(servers: server, name: "kvw-xlang-ruby") do |client|
    bucket = client.bucket(bucket_name, create: true)
    key = rest[0]
    case command
    when "put"
      puts bucket.put(key, unhex(rest[1]))
    when "create"
      puts bucket.create(key, unhex(rest[1]))
    when "update"
      puts bucket.update(key, unhex(rest[1]), Kvw::Version.parse(rest[2]))
    when "get"
      # get_entry gives the version too; kvw_get's rule decides "not found"
      # (no record, a delete/purge marker, or an empty value).
      entry = bucket.get_entry(key)
      if entry.nil? || entry.deleted?
        warn "xlang: #{key}: not found"
        exit 4
      end
      puts entry.value.unpack1("H*")
      puts entry.version
    end
  end
rescue Kvw::Conflict, Kvw::AlreadyExists => e
  warn "xlang: #{e.message}"
  exit 3
rescue Kvw::Error => e
  warn "xlang: #{e.message}"
  exit 1
end
