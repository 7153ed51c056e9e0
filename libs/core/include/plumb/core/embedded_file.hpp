#pragma once
// A file compiled into a binary by plumb_embed_files() (cmake/plumb.cmake).

#include <string_view>

namespace plumb::core {

struct embedded_file {
  std::string_view name;  // file name without directories, e.g. "0001_init.sql"
  std::string_view data;
};

}  // namespace plumb::core
