// Fuzz target: the collector's parsing of untrusted hits (JSON bodies and pixel query strings).
// Under clang it is a libFuzzer target (cmake -DCMAKE_CXX_COMPILER=clang++ -DPLUMB_FUZZ=ON);
// under any compiler, fuzz_replay.cpp runs it over the corpus and seeded random mutations.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hit_request.hpp"
#include "plumb/http/message.hpp"
#include "plumb/json/value.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto json_hit = plumb::collector::parse_hit_json(input);
  const auto query_hit = plumb::collector::parse_hit_query(plumb::http::parse_query(input));
  for (const auto* hit : {&json_hit, &query_hit}) {
    if (!*hit) {
      continue;
    }
    // What a parser accepts must respect the limits and be valid UTF-8 for the stream.
    const auto& h = hit->value();
    if (h.name.empty() || h.name.size() > plumb::collector::max_event_name_bytes ||
        h.url.size() > plumb::collector::max_url_bytes || h.domains.empty() ||
        !plumb::json::valid_utf8(h.name) || !plumb::json::valid_utf8(h.url) ||
        !plumb::json::valid_utf8(h.props_json) ||
        (!h.props_json.empty() && !plumb::json::parse(h.props_json))) {
      __builtin_trap();
    }
  }
  return 0;
}
