#include "hit_request.hpp"

#include <algorithm>
#include <charconv>

#include "plumb/core/text.hpp"
#include "plumb/events/site_map.hpp"
#include "plumb/json/value.hpp"
#include "plumb/json/writer.hpp"

namespace plumb::collector {
namespace {

// First of the short or long key present in the body.
const json::value* member(const json::value& body, std::string_view short_key, std::string_view long_key) {
  if (const auto* v = body.find(short_key)) {
    return v;
  }
  return body.find(long_key);
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// Tracker URLs must be absolute http(s) URLs with a host.
std::optional<std::string> url_host(std::string_view url) {
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  const auto end = rest.find_first_of("/?#");
  std::string_view host = rest.substr(0, end);
  if (const auto at = host.rfind('@'); at != std::string_view::npos) {
    host = host.substr(at + 1);
  }
  if (host.empty()) {
    return std::nullopt;
  }
  return std::string(host);
}

// "Example.com:8080" -> "example.com"; "[2001:db8::1]:80" -> "[2001:db8::1]".
std::string without_port(std::string_view host) {
  const auto colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return core::ascii_lower(host);
}

// A property value as text: strings as they are, numbers and booleans in JSON form; null,
// objects and arrays are refused (Plausible accepts scalars only).
std::optional<std::string> scalar_text(const json::value& v) {
  if (const auto* s = v.as_string()) {
    return *s;
  }
  if (const auto b = v.as_bool()) {
    return *b ? "true" : "false";
  }
  if (v.type() == json::value::kind::integer) {
    return std::to_string(*v.as_int());
  }
  if (v.type() == json::value::kind::number) {
    json::writer w;
    w.value(*v.as_double());
    return std::move(w).str();
  }
  return std::nullopt;
}

void parse_props(const json::value& raw, hit_request& hit, field_errors& errors) {
  std::optional<json::value> decoded;
  const json::value* props = &raw;
  if (const auto* text = raw.as_string()) {  // props may arrive as a JSON-encoded string
    auto parsed = json::parse(*text);
    if (!parsed) {
      errors.emplace_back("props", "must be an object or a JSON-encoded object");
      return;
    }
    decoded = std::move(*parsed);
    props = &*decoded;
  }
  if (props->is_null()) {
    return;
  }
  const auto* object = props->as_object();
  if (object == nullptr) {
    errors.emplace_back("props", "must be an object or a JSON-encoded object");
    return;
  }
  if (object->size() > max_props) {
    errors.emplace_back("props", "at most 30 properties are allowed");
    return;
  }
  if (object->empty()) {
    return;
  }
  json::writer w;
  w.begin_object();
  for (const auto& [key, value] : *object) {
    const auto text = scalar_text(value);
    if (!text) {
      errors.emplace_back("props", "property '" + key.substr(0, 40) + "' must be a string, number or boolean");
      return;
    }
    if (key.empty() || key.size() > max_prop_key_bytes || text->size() > max_prop_value_bytes ||
        has_nul(key) || has_nul(*text)) {
      errors.emplace_back("props", "property keys must be 1-300 bytes and values at most 2000 bytes");
      return;
    }
    w.key(key).value(*text);
  }
  w.end_object();
  hit.props_json = std::move(w).str();
}

bool valid_amount(std::string_view amount) {
  // Plain decimal: digits, optional fraction, optional leading minus (refunds). No exponent.
  std::size_t i = amount.rfind('-', 0) == 0 ? 1 : 0;
  std::size_t digits = 0;
  bool dot = false;
  for (; i < amount.size(); ++i) {
    if (amount[i] == '.' && !dot) {
      dot = true;
    } else if (amount[i] >= '0' && amount[i] <= '9') {
      ++digits;
    } else {
      return false;
    }
  }
  return digits > 0 && digits <= 18;
}

void parse_revenue(const json::value& raw, hit_request& hit, field_errors& errors) {
  if (raw.is_null()) {
    return;
  }
  const auto* currency = raw.find("currency");
  const auto* amount = raw.find("amount");
  const std::string* code = currency != nullptr ? currency->as_string() : nullptr;
  if (code == nullptr || code->size() != 3 ||
      !std::all_of(code->begin(), code->end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    errors.emplace_back("revenue", "currency must be an ISO 4217 code such as EUR");
    return;
  }
  std::optional<std::string> amount_text;
  if (amount != nullptr) {
    amount_text = amount->is_number() ? scalar_text(*amount)
                                      : (amount->as_string() ? std::optional(*amount->as_string())
                                                             : std::nullopt);
  }
  if (!amount_text || !valid_amount(*amount_text)) {
    errors.emplace_back("revenue", "amount must be a decimal number such as \"12.50\"");
    return;
  }
  hit.revenue = events::revenue{*code, *amount_text};
}

// Query-string values are all text; give the ones the JSON form types their JSON type, so one
// validator serves both. Values that do not convert stay text and fail validation with a message.
json::value typed_query_value(std::string_view key, const std::string& text) {
  if (key == "w" || key == "screen_width") {
    std::int64_t number = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec == std::errc{} && end == text.data() + text.size() && !text.empty()) {
      return json::value(number);
    }
  } else if (key == "h" || key == "hash_mode" || key == "i" || key == "interactive") {
    if (text == "1" || text == "true") {
      return json::value(true);
    }
    if (text == "0" || text == "false") {
      return json::value(false);
    }
  } else if (key == "$" || key == "revenue") {
    if (auto parsed = json::parse(text)) {
      return std::move(*parsed);
    }
  }
  return json::value(text);
}

expected<hit_request, field_errors> validate_hit(const json::value& doc) {
  hit_request hit;
  field_errors errors;

  const auto* name = member(doc, "n", "name");
  if (name == nullptr || name->as_string() == nullptr || name->as_string()->empty()) {
    errors.emplace_back("name", "is required");
  } else if (name->as_string()->size() > max_event_name_bytes || has_nul(*name->as_string())) {
    errors.emplace_back("name", "must be at most 120 bytes");
  } else {
    hit.name = *name->as_string();
  }

  const auto* url = member(doc, "u", "url");
  std::optional<std::string> host;
  if (url == nullptr || url->as_string() == nullptr || url->as_string()->empty()) {
    errors.emplace_back("url", "is required");
  } else if (url->as_string()->size() > max_url_bytes || has_nul(*url->as_string())) {
    errors.emplace_back("url", "must be at most 2000 bytes");
  } else if (host = url_host(*url->as_string()); !host) {
    errors.emplace_back("url", "must be an absolute http(s) URL");
  } else {
    hit.url = *url->as_string();
    hit.hostname = without_port(*host);
  }

  if (const auto* domain = member(doc, "d", "domain"); domain != nullptr && !domain->is_null()) {
    const std::string* list = domain->as_string();
    if (list == nullptr) {
      errors.emplace_back("domain", "must be a string");
    } else {
      std::string_view rest = *list;
      while (!rest.empty() && errors.empty()) {
        const auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') {
          item.remove_prefix(1);
        }
        while (!item.empty() && item.back() == ' ') {
          item.remove_suffix(1);
        }
        if (item.empty()) {
          continue;
        }
        auto normalized = events::normalize_domain(item);
        if (!normalized) {
          errors.emplace_back("domain", normalized.error());
        } else if (hit.domains.size() == max_domains) {
          errors.emplace_back("domain", "at most 10 domains per event");
        } else if (std::find(hit.domains.begin(), hit.domains.end(), *normalized) == hit.domains.end()) {
          hit.domains.push_back(std::move(*normalized));
        }
      }
    }
  }
  if (hit.domains.empty() && host) {
    if (auto normalized = events::normalize_domain(*host)) {
      hit.domains.push_back(std::move(*normalized));
    }
  }
  if (hit.domains.empty() && errors.empty()) {
    errors.emplace_back("domain", "is required");
  }

  if (const auto* referrer = member(doc, "r", "referrer"); referrer != nullptr && !referrer->is_null()) {
    const auto* text = referrer->as_string();
    if (text == nullptr || text->size() > max_url_bytes || has_nul(*text)) {
      errors.emplace_back("referrer", "must be a string of at most 2000 bytes");
    } else {
      hit.referrer = *text;
    }
  }

  if (const auto* width = member(doc, "w", "screen_width"); width != nullptr && !width->is_null()) {
    const auto w = width->as_int();
    if (!w || *w < 0 || *w > max_screen_width) {
      errors.emplace_back("screen_width", "must be an integer from 0 to 100000");
    } else {
      hit.screen_width = static_cast<std::int32_t>(*w);
    }
  }

  if (const auto* h = member(doc, "h", "hash_mode"); h != nullptr && !h->is_null()) {
    hit.hash_mode = h->as_bool().value_or(h->as_int().value_or(0) != 0);
  }
  if (const auto* i = member(doc, "i", "interactive"); i != nullptr && !i->is_null()) {
    const auto b = i->as_bool();
    if (!b) {
      errors.emplace_back("interactive", "must be true or false");
    } else {
      hit.interactive = *b;
    }
  }
  if (const auto* props = member(doc, "p", "props")) {
    parse_props(*props, hit, errors);
  }
  if (const auto* revenue = member(doc, "$", "revenue")) {
    parse_revenue(*revenue, hit, errors);
  }

  if (!errors.empty()) {
    return unexpected(std::move(errors));
  }
  return hit;
}

}  // namespace

expected<hit_request, field_errors> parse_hit_json(std::string_view body) {
  const auto doc = json::parse(body);
  if (!doc) {
    return unexpected(field_errors{{"body", "must be a JSON object: " + doc.error().message}});
  }
  if (!doc->is_object()) {
    return unexpected(field_errors{{"body", "must be a JSON object"}});
  }
  return validate_hit(*doc);
}

expected<hit_request, field_errors> parse_hit_query(
    const std::vector<std::pair<std::string, std::string>>& query) {
  json::object fields;
  for (const auto& [key, value] : query) {
    // Text reaching the stream must be valid UTF-8 (JSON bodies are checked by the parser).
    if (!json::valid_utf8(key) || !json::valid_utf8(value)) {
      return unexpected(field_errors{{"query", "must be valid UTF-8"}});
    }
    fields.emplace_back(key, typed_query_value(key, value));
  }
  return validate_hit(json::value(std::move(fields)));
}

}  // namespace plumb::collector
