# frozen_string_literal: true

# gem build kvw.gemspec && gem install --local kvw-<version>.gem
# Building the gem runs swig; installing it compiles the native extension
# and needs a C compiler, ruby-dev and an installed libkvw that pkg-config
# finds (PKG_CONFIG_PATH), not swig.
require_relative "lib/kvw/gem_version"
require "fileutils"

root = __dir__
# The shared SWIG interface and the C shim live outside this directory
# (bindings/kvw.i, bindings/common/). Building the gem from the repository
# packs a copy of them under ext/kvw_native/swig/ (same relative layout, so
# kvw_ruby.i's %include "../kvw.i" still resolves); extconf.rb uses it when
# the repository is not around.
shared = File.expand_path("..", root)
if File.file?(File.join(shared, "kvw.i")) && File.file?(File.join(root, "kvw_ruby.i"))
  vendor = File.join(root, "ext", "kvw_native", "swig")
  { File.join(shared, "kvw.i") => "kvw.i",
    File.join(root, "kvw_ruby.i") => "ruby/kvw_ruby.i",
    File.join(shared, "common", "kvw_binding.h") => "common/kvw_binding.h",
    File.join(shared, "common", "kvw_binding.c") => "common/kvw_binding.c" }.each do |from, to|
    dest = File.join(vendor, to)
    FileUtils.mkdir_p(File.dirname(dest))
    FileUtils.cp(from, dest) unless File.file?(dest) && FileUtils.identical?(from, dest)
  end
  # The SWIG wrapper goes into the gem too, so that installing it needs no
  # swig (extconf.rb uses it). Made from the copies above, so they match.
  wrap = File.join(vendor, "ruby", "kvw_native_wrap.c")
  inputs = Dir[File.join(vendor, "**", "*.{i,h}"), File.join(shared, "..", "include", "kvw", "*.h")]
  if !File.file?(wrap) || inputs.any? { |f| File.mtime(f) > File.mtime(wrap) }
    swig = ENV.fetch("SWIG", "swig")
    ok = system(swig, "-ruby", "-I#{File.join(shared, '..', 'include')}", "-I#{File.join(vendor, 'common')}",
                "-o", wrap, File.join(vendor, "ruby", "kvw_ruby.i"))
    abort "kvw.gemspec: #{swig} -ruby failed: building the gem needs swig 4" unless ok
  end
end

Gem::Specification.new do |spec|
  spec.name = "kvw"
  spec.version = Kvw::VERSION
  spec.summary = "Asynchronous writes to NATS JetStream Key-Value buckets (binding of libkvw)"
  spec.description = <<~DESC
    Ruby binding of libkvw: put, create, update (CAS), delete, delete_with_version,
    purge, get and get_entry on a NATS JetStream KV bucket, blocking (GVL released)
    or async with blocks run on a Ruby dispatcher thread. Typed errors, binary-safe
    values, version tokens with a stable text form. The SWIG wrapper ships in the gem.
  DESC
  spec.authors = ["kvw authors"]
  spec.homepage = "https://github.com/kvw/kvw"
  spec.metadata = {
    "homepage_uri" => spec.homepage,
    "source_code_uri" => "https://github.com/kvw/kvw/tree/main/bindings/ruby",
    "documentation_uri" => "https://github.com/kvw/kvw/blob/main/bindings/ruby/README.md",
    "rubygems_mfa_required" => "true"
  }
  spec.required_ruby_version = ">= 2.7"
  spec.files = Dir.chdir(root) do
    Dir["lib/**/*.rb", "ext/kvw_native/extconf.rb", "ext/kvw_native/swig/**/*.{i,c,h}",
        "examples/*.rb", "kvw_ruby.i", "kvw.gemspec"]
  end
  spec.extensions = ["ext/kvw_native/extconf.rb"]
  spec.require_paths = ["lib"]
  spec.requirements = ["libkvw (pkg-config kvw)"]
end
