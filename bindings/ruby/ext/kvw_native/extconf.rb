# frozen_string_literal: true

# Builds kvw/kvw_native.so, the native half of the kvw gem:
#   1. takes the SWIG wrapper the gem ships (kvw.gemspec made it), or in the
#      repository runs SWIG on kvw_ruby.i (which %includes the shared
#      ../kvw.i) to generate kvw_native_wrap.c in the build directory;
#   2. compiles it with the C shim common/kvw_binding.c;
#   3. links libkvw, found with pkg-config (set PKG_CONFIG_PATH to the
#      directory holding kvw.pc for a private prefix).
# Needs pkg-config and an installed libkvw (and swig 4 in the repository).
# Nothing generated is written to the source tree.
require "mkmf"
require "shellwords"
require "fileutils"

here = __dir__
# In the repository the shared sources sit in bindings/; in the gem,
# kvw.gemspec packs a copy of them under ext/kvw_native/swig/ (same layout).
candidates = [File.expand_path("../../..", here), File.join(here, "swig")]
src = candidates.find do |dir|
  %w[kvw.i ruby/kvw_ruby.i common/kvw_binding.c common/kvw_binding.h].all? do |f|
    File.file?(File.join(dir, f))
  end
end
abort "kvw: kvw.i, ruby/kvw_ruby.i and common/kvw_binding.[ch] not found in #{candidates.join(' or ')}" unless src
common = File.join(src, "common")

pkg_config_exe = ENV.fetch("PKG_CONFIG", "pkg-config")
find_executable(pkg_config_exe) or abort "kvw: #{pkg_config_exe} not found"
unless system(pkg_config_exe, "--exists", "kvw")
  abort "kvw: libkvw not found by pkg-config: install kvw, or set PKG_CONFIG_PATH to the " \
        "directory holding kvw.pc (e.g. <prefix>/lib/pkgconfig)"
end
pkg = ->(*args) { IO.popen([pkg_config_exe, *args, "kvw"], &:read).strip }
kvw_cflags = pkg.call("--cflags")
kvw_libdir = pkg.call("--variable=libdir")
$INCFLAGS << " " << kvw_cflags << " -I" << Shellwords.escape(common)
$LDFLAGS << " " << pkg.call("--libs-only-L")
$libs << " " << pkg.call("--libs-only-l")
# A private prefix is not on the loader's path: remember it (system dirs need no rpath).
system_dirs = %w[/usr/lib /usr/lib64 /lib /lib64 /usr/local/lib] +
              [RbConfig::CONFIG["libdir"], "/usr/lib/#{RbConfig::CONFIG['arch']}"]
unless kvw_libdir.empty? || system_dirs.include?(kvw_libdir.chomp("/"))
  $LDFLAGS << " -Wl,-rpath," << Shellwords.escape(kvw_libdir)
end

have_header("kvw/kvw.h") or abort "kvw: <kvw/kvw.h> not found (pkg-config cflags: #{kvw_cflags})"
have_library("kvw", "kvw_library_version") or abort "kvw: cannot link libkvw"
have_header("ruby/thread.h") or abort "kvw: <ruby/thread.h> missing (Ruby >= 2.0 needed)"

shipped = File.join(src, "ruby", "kvw_native_wrap.c")
if File.file?(shipped)
  # From the gem: kvw.gemspec generated the wrapper when the gem was built.
  FileUtils.cp(shipped, "kvw_native_wrap.c")
else
  swig = find_executable(ENV.fetch("SWIG", "swig")) or abort "kvw: swig not found (apt-get install swig)"
  swig_includes = Shellwords.split(pkg.call("--cflags-only-I")).grep(/\A-I/)
  cmd = [swig, "-ruby", *swig_includes, "-I#{common}", "-o", "kvw_native_wrap.c",
         File.join(src, "ruby", "kvw_ruby.i")]
  puts cmd.join(" ")
  system(*cmd) or abort "kvw: swig failed"
end

$srcs = %w[kvw_native_wrap.c kvw_binding.c]
$VPATH << common
# Only Init_kvw_native needs to be visible; keep the shim's kvwb_* private.
$CFLAGS << " -fvisibility=hidden"
$warnflags = "#{$warnflags} -Wno-unused-parameter -Wno-missing-field-initializers" if $warnflags

create_makefile("kvw/kvw_native")
