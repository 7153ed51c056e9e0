// Runs a libFuzzer-style target without libFuzzer: every corpus file, then seeded random
// mutations of them. Prints the seed; PLUMB_FUZZ_SEED replays a run, PLUMB_FUZZ_RUNS sets its size.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::strtoull(value, nullptr, 10) : fallback;
}

void run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  std::vector<std::string> corpus;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    corpus.push_back(read(entry.path()));
    run(corpus.back());
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "empty corpus in %s\n", argv[1]);
    return 1;
  }
  const std::uint64_t seed = env_or("PLUMB_FUZZ_SEED", std::random_device{}());
  const std::uint64_t runs = env_or("PLUMB_FUZZ_RUNS", 20'000);
  std::printf("fuzz replay: %zu corpus files, %llu mutations, seed %llu\n", corpus.size(),
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  std::mt19937_64 rng(seed);
  constexpr std::string_view interesting = "{}[]\",:\\%&=+$0123456789nuprwhid\x00\xff\xc3";
  for (std::uint64_t i = 0; i < runs; ++i) {
    std::string input = corpus[rng() % corpus.size()];
    const auto edits = 1 + rng() % 8;
    for (std::uint64_t e = 0; e < edits; ++e) {
      const auto pos = input.empty() ? 0 : rng() % (input.size() + 1);
      switch (rng() % 4) {
        case 0:
          input.insert(pos, 1, interesting[rng() % interesting.size()]);
          break;
        case 1:
          if (pos < input.size()) {
            input.erase(pos, 1 + rng() % 4);
          }
          break;
        case 2:
          if (pos < input.size()) {
            input[pos] = static_cast<char>(rng());
          }
          break;
        default:
          input.insert(pos, corpus[rng() % corpus.size()].substr(0, rng() % 64));
          break;
      }
    }
    run(input);
  }
  std::printf("fuzz replay: no crash\n");
  return 0;
}
