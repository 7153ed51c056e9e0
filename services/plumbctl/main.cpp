// plumbctl: wiring only (see commands.hpp).
#include <iostream>

#include "commands.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return plumb::plumbctl::run(args, plumb::config::process_environment(), std::cin, std::cout,
                              std::cerr);
}
