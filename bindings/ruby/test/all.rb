# frozen_string_literal: true

# Runs every kvw Ruby test:  ruby test/all.rb   (kvw must be loadable: the
# installed gem, or -I lib -I <dir holding kvw/kvw_native.so>)
Dir[File.join(__dir__, "test_*.rb")].sort.each { |f| require f }
