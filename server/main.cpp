#include <iostream>
#include <string_view>
#include <vector>

#include "server/app/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  return zaulek::server::run_main(args, std::cin, std::cout, std::cerr);
}
