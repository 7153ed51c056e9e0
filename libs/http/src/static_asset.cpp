#include "plumb/http/static_asset.hpp"

#include <algorithm>

#include "plumb/core/text.hpp"
#include "plumb/crypto/crypto.hpp"

namespace plumb::http {
namespace {

// HTTP header whitespace (RFC 9110 5.6.3).
std::string_view trim(std::string_view s) { return core::trim(s, " \t"); }

// Splits `text` at the first `separator`: the part before it, and `text` becomes the rest (empty
// when there was no separator).
std::string_view next_part(std::string_view& text, char separator) {
  const auto at = text.find(separator);
  const std::string_view part = text.substr(0, at);
  text = at == std::string_view::npos ? std::string_view() : text.substr(at + 1);
  return part;
}

// Whether an RFC 9110 qvalue ("0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]) is above zero; nullopt
// when it is malformed.
std::optional<bool> positive_qvalue(std::string_view q) {
  if (q.empty() || (q[0] != '0' && q[0] != '1')) {
    return std::nullopt;
  }
  const std::string_view fraction = q.size() > 1 ? q.substr(1) : std::string_view();
  if (!fraction.empty()) {
    const std::string_view digits = fraction.substr(1);
    if (fraction[0] != '.' || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    if (q[0] == '1' && digits.find_first_not_of('0') != std::string_view::npos) {
      return std::nullopt;  // above 1
    }
  }
  return q[0] == '1' || q.find_first_of("123456789") != std::string_view::npos;
}

representation make_representation(std::string_view bytes) {
  return {std::string(bytes), '"' + crypto::to_hex(crypto::sha256({bytes})) + '"'};
}

}  // namespace

static_asset make_static_asset(std::string_view plain, std::optional<std::string_view> gzip,
                               std::string content_type, std::string cache_control) {
  static_asset asset{std::move(content_type), std::move(cache_control), make_representation(plain),
                     std::nullopt};
  if (gzip) {
    asset.gzip = make_representation(*gzip);
  }
  return asset;
}

response serve(const static_asset& asset, const request& req) {
  const bool gzip = asset.gzip && accepts_gzip(req.header_value("accept-encoding").value_or(""));
  const representation& chosen = gzip ? *asset.gzip : asset.plain;
  response res;
  if (const auto tags = req.header_value("if-none-match");
      tags && etag_matches(*tags, chosen.etag)) {
    res = response::text(304, "", "");  // no body, so no Content-Type either
  } else {
    res = response::text(200, chosen.body, asset.content_type);
    if (gzip) {
      res.with_header("Content-Encoding", "gzip");
    }
  }
  // A 304 repeats the validators and caching headers a 200 would carry (RFC 9110 §15.4.5).
  res.with_header("ETag", chosen.etag)
      .with_header("Cache-Control", asset.cache_control)
      .with_header("X-Content-Type-Options", "nosniff");
  if (asset.gzip) {
    // Caches must key on the encoding: one URL, two byte sequences.
    res.with_header("Vary", "Accept-Encoding");
  }
  return res;
}

bool accepts_gzip(std::string_view accept_encoding) {
  bool gzip_listed = false;
  bool gzip_ok = false;
  bool gzip_refused = false;
  bool any_ok = false;
  bool any_refused = false;
  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    std::string_view element = next_part(rest, ',');
    const std::string coding = core::ascii_lower(trim(next_part(element, ';')));
    if (coding.empty()) {
      continue;
    }
    std::optional<bool> positive = true;  // no q parameter means q=1
    while (!element.empty()) {
      std::string_view param = next_part(element, ';');
      const std::string_view name = trim(next_part(param, '='));
      if (core::iequals(name, "q")) {
        positive = positive_qvalue(trim(param));
      }
    }
    const bool ok = positive.value_or(false);
    if (coding == "gzip" || coding == "x-gzip") {
      gzip_listed = true;
      // An explicit refusal (q=0) anywhere wins over an acceptance elsewhere in the header.
      gzip_ok = gzip_ok || ok;
      gzip_refused = gzip_refused || !ok;
    } else if (coding == "*") {
      any_ok = any_ok || ok;
      any_refused = any_refused || !ok;
    }
  }
  return gzip_listed ? gzip_ok && !gzip_refused : any_ok && !any_refused;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  std::string_view rest = trim(if_none_match);
  if (rest == "*") {
    return true;
  }
  while (!rest.empty()) {
    const auto start = rest.find_first_not_of(" \t,");
    if (start == std::string_view::npos) {
      return false;
    }
    rest.remove_prefix(start);
    if (rest.substr(0, 2) == "W/") {
      rest.remove_prefix(2);
    }
    // An entity tag is a quoted string without escapes; commas may appear inside the quotes, so
    // the list is read tag by tag rather than split at commas.
    const auto close =
        rest.size() > 1 && rest[0] == '"' ? rest.find('"', 1) : std::string_view::npos;
    if (close == std::string_view::npos) {
      return false;
    }
    if (rest.substr(0, close + 1) == etag) {
      return true;
    }
    rest.remove_prefix(close + 1);
    const auto next = rest.find_first_not_of(" \t");
    if (next != std::string_view::npos && rest[next] != ',') {
      return false;
    }
  }
  return false;
}

}  // namespace plumb::http
