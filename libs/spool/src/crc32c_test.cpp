#include "crc32c.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

using plumb::spool::detail::crc32c;

namespace {
std::uint32_t crc_of(std::string_view s) {
  return crc32c(s.data(), s.size());
}
}  // namespace

TEST_CASE("crc32c matches the published check value and RFC 3720 vectors") {
  CHECK(crc_of("") == 0U);
  CHECK(crc_of("123456789") == 0xE3069283U);
  CHECK(crc_of(std::string(32, '\0')) == 0x8A9136AAU);
  CHECK(crc_of(std::string(32, '\xFF')) == 0x62A8AB43U);
  std::string ascending;
  std::string descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  CHECK(crc_of(ascending) == 0x46DD794EU);
  CHECK(crc_of(descending) == 0x113FDB5CU);
}

TEST_CASE("crc32c chains across split buffers at every split point") {
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text.push_back(static_cast<char>(i * 37 + 11));
  }
  const std::uint32_t whole = crc_of(text);
  for (std::size_t split = 0; split <= text.size(); ++split) {
    const std::uint32_t first = crc32c(text.data(), split);
    CHECK(crc32c(text.data() + split, text.size() - split, first) == whole);
  }
}
