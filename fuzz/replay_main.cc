// A main for the fuzz harnesses where libFuzzer is not linked (a GCC build): runs
// LLVMFuzzerTestOneInput once on each file named, as libFuzzer does when given files, so
// ctest replays the seed corpus and the regression inputs in every build, sanitizers or not.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream file(argv[i], std::ios::binary);
    if (!file) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i]);
      return 1;
    }
    const std::string input{std::istreambuf_iterator<char>(file), {}};
    // A copy of exactly the input's size, so that reading past its end is caught.
    auto* const copy = new std::uint8_t[input.size()];
    std::copy(input.begin(), input.end(), copy);
    LLVMFuzzerTestOneInput(copy, input.size());
    delete[] copy;
  }
  std::printf("%d inputs ran\n", argc - 1);
  return 0;
}
