#!/usr/bin/env bash
# Cross-language driver for the Ruby binding; see xlang.rb for the interface.
# Uses what bindings/ruby/run-tests.sh built: the gem installed into
# build/ruby-gem (preferred), else the CMake module in build-ruby.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
if [[ -d $root/build/ruby-gem/home/gems ]]; then
    export GEM_HOME=$root/build/ruby-gem/home GEM_PATH=$root/build/ruby-gem/home:
    exec ruby "$here/xlang.rb" "$@"
fi
exec ruby -I "$here/lib" -I "$root/build-ruby/bindings/ruby/lib" "$here/xlang.rb" "$@"
