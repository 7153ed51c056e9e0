#include "plumb/events/stream_entry.hpp"

#include <charconv>
#include <string_view>

namespace plumb::events {
namespace {

constexpr std::string_view version_text = "1";  // stream_entry_version as text

template <class Int>
std::optional<Int> parse_int(std::string_view text) {
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint64_t> parse_hex64(std::string_view text) {
  if (text.empty() || text.size() > 16) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

plumb::unexpected<decode_error> fail(std::string field, std::string message) {
  return plumb::unexpected(decode_error{std::move(field), std::move(message)});
}

}  // namespace

void for_each_field(const event& e, const field_visitor& visit) {
  // Numbers are formatted into stack buffers: encoding allocates nothing of its own.
  auto decimal = [](char* buffer, std::size_t size, std::int64_t v) {
    const auto [end, ec] = std::to_chars(buffer, buffer + size, v);
    return std::string_view(buffer, static_cast<std::size_t>(end - buffer));
  };
  auto hex = [](char* buffer, std::size_t size, std::uint64_t v) {
    const auto [end, ec] = std::to_chars(buffer, buffer + size, v, 16);
    return std::string_view(buffer, static_cast<std::size_t>(end - buffer));
  };
  char id[36];
  char number[24];
  e.id.write_to(id);
  visit("v", version_text);
  visit("id", std::string_view(id, sizeof id));
  visit("ts", decimal(number, sizeof number, e.received_ms));
  visit("site", decimal(number, sizeof number, e.site_id));
  visit("n", e.name);
  visit("u", e.url);
  visit("vh", hex(number, sizeof number, e.visitor_hash));
  visit("pvh", hex(number, sizeof number, e.previous_visitor_hash));
  if (!e.referrer.empty()) {
    visit("r", e.referrer);
  }
  if (e.screen_width) {
    visit("w", decimal(number, sizeof number, *e.screen_width));
  }
  if (e.hash_mode) {
    visit("h", "1");
  }
  if (!e.interactive) {
    visit("i", "0");
  }
  if (!e.props_json.empty()) {
    visit("p", e.props_json);
  }
  if (e.revenue) {
    visit("rc", e.revenue->currency);
    visit("ra", e.revenue->amount);
  }
  if (!e.country.empty()) {
    visit("cc", e.country);
  }
  if (!e.region.empty()) {
    visit("rg", e.region);
  }
  if (!e.city.empty()) {
    visit("ci", e.city);
  }
  if (!e.user_agent.empty()) {
    visit("ua", e.user_agent);
  }
}

fields encode(const event& e) {
  fields out;
  out.reserve(16);
  for_each_field(e, [&out](std::string_view field, std::string_view value) {
    out.emplace_back(field, value);
  });
  return out;
}

expected<event, decode_error> decode(const fields& entry) {
  auto get = [&entry](std::string_view name) -> const std::string* {
    for (const auto& [key, value] : entry) {
      if (key == name) {
        return &value;
      }
    }
    return nullptr;
  };

  const auto* version = get("v");
  if (version == nullptr || *version != version_text) {
    return fail("v", "unsupported stream entry version");
  }
  event e;
  const auto* id = get("id");
  const auto parsed_id = id != nullptr ? core::event_id::parse(*id) : std::nullopt;
  if (!parsed_id) {
    return fail("id", "missing or malformed event id");
  }
  e.id = *parsed_id;
  const auto* ts = get("ts");
  const auto received = ts != nullptr ? parse_int<std::int64_t>(*ts) : std::nullopt;
  if (!received || *received != e.id.unix_ms()) {
    return fail("ts", "missing receive time, or it disagrees with the event id");
  }
  e.received_ms = *received;
  const auto* site = get("site");
  const auto site_id = site != nullptr ? parse_int<std::int64_t>(*site) : std::nullopt;
  if (!site_id || *site_id <= 0) {
    return fail("site", "missing or malformed site id");
  }
  e.site_id = *site_id;
  const auto* name = get("n");
  const auto* url = get("u");
  if (name == nullptr || name->empty()) {
    return fail("n", "missing event name");
  }
  if (url == nullptr || url->empty()) {
    return fail("u", "missing url");
  }
  e.name = *name;
  e.url = *url;
  const auto* vh = get("vh");
  const auto* pvh = get("pvh");
  const auto visitor = vh != nullptr ? parse_hex64(*vh) : std::nullopt;
  const auto previous = pvh != nullptr ? parse_hex64(*pvh) : std::nullopt;
  if (!visitor || !previous) {
    return fail("vh", "missing or malformed visitor hash");
  }
  e.visitor_hash = *visitor;
  e.previous_visitor_hash = *previous;
  if (const auto* r = get("r")) {
    e.referrer = *r;
  }
  if (const auto* w = get("w")) {
    const auto width = parse_int<std::int32_t>(*w);
    if (!width || *width < 0) {
      return fail("w", "malformed screen width");
    }
    e.screen_width = *width;
  }
  if (const auto* h = get("h")) {
    e.hash_mode = *h == "1";
  }
  if (const auto* i = get("i")) {
    e.interactive = *i != "0";
  }
  if (const auto* p = get("p")) {
    e.props_json = *p;
  }
  const auto* rc = get("rc");
  const auto* ra = get("ra");
  if ((rc == nullptr) != (ra == nullptr)) {
    return fail("rc", "revenue needs both currency and amount");
  }
  if (rc != nullptr) {
    e.revenue = revenue{*rc, *ra};
  }
  if (const auto* cc = get("cc")) {
    e.country = *cc;
  }
  if (const auto* rg = get("rg")) {
    e.region = *rg;
  }
  if (const auto* ci = get("ci")) {
    e.city = *ci;
  }
  if (const auto* ua = get("ua")) {
    e.user_agent = *ua;
  }
  return e;
}

}  // namespace plumb::events
