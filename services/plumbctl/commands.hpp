#pragma once
// plumbctl's commands, separate from main() so tests can run them with their own environment
// and output streams.

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "plumb/config/env_reader.hpp"

namespace plumb::plumbctl {

// Runs one command line (without the program name). Returns the exit status: 0 success,
// 1 failure, 2 usage or configuration error. Commands that read data (ua) read `in`; results
// go to `out`, one-line errors to `err`.
int run(const std::vector<std::string>& args, const config::lookup_fn& env, std::istream& in,
        std::ostream& out, std::ostream& err);

std::string usage();

}  // namespace plumb::plumbctl
