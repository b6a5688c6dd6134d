# frozen_string_literal: true

module Kvw
  # Version of this gem (the Ruby binding). The C library's version is
  # Kvw.library_version.
  VERSION = "0.2.0"
end
