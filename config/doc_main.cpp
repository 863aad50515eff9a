// zaulek-config-doc: writes the config reference (docs/config.md) generated from the
// field table, to the file named or to stdout. `--toml` prints the defaults as TOML.
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "config/schema.h"

int main(int argc, char** argv) {
  using namespace zaulek::config;
  if (argc > 2 ||
      (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h"))) {
    std::cerr << "usage: zaulek-config-doc [OUTPUT.md | --toml]\n";
    return argc > 2 ? 2 : 0;
  }
  if (argc == 2 && std::string_view(argv[1]) == "--toml") {
    std::cout << to_toml(Config{});
    return 0;
  }
  const std::string text = reference_markdown();
  if (argc == 1) {
    std::cout << text;
    return 0;
  }
  std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::cerr << "zaulek-config-doc: cannot write " << argv[1] << "\n";
    return 1;
  }
  return 0;
}
