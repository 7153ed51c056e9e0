#include "plumb/enrich/referrer.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using plumb::enrich::campaign;
using plumb::enrich::parse_campaign;
using plumb::enrich::parse_page_url;
using plumb::enrich::source_classifier;
using plumb::enrich::spam_filter;

constexpr std::string_view site = "example.com";

struct row {
  const char* name;
  const char* referrer;
  const char* page_url;  // on `site`; its query gives the campaign
  const char* source;
  const char* medium;
  const char* referrer_host;
  const char* term;
};

const row rows[] = {
    {"google, no query", "https://www.google.com/", "https://example.com/", "Google", "search",
     "google.com", ""},
    {"google with q", "https://www.google.com/search?q=plumb+analytics", "https://example.com/",
     "Google", "search", "google.com", "plumb analytics"},
    {"google country domain", "https://www.google.de/", "https://example.com/", "Google", "search",
     "google.de", ""},
    {"bing", "https://www.bing.com/search?q=x", "https://example.com/", "Bing", "search",
     "bing.com", "x"},
    {"duckduckgo", "https://duckduckgo.com/", "https://example.com/", "DuckDuckGo", "search",
     "duckduckgo.com", ""},
    {"facebook", "https://www.facebook.com/", "https://example.com/", "Facebook", "social",
     "facebook.com", ""},
    {"m.facebook", "https://m.facebook.com/story.php", "https://example.com/", "Facebook", "social",
     "m.facebook.com", ""},
    {"t.co", "https://t.co/abc123", "https://example.com/", "Twitter", "social", "t.co", ""},
    {"x.com", "https://x.com/someone", "https://example.com/", "Twitter", "social", "x.com", ""},
    {"linkedin", "https://www.linkedin.com/feed/", "https://example.com/", "LinkedIn", "social",
     "linkedin.com", ""},
    {"reddit", "https://old.reddit.com/r/cpp/", "https://example.com/", "Reddit", "social",
     "old.reddit.com", ""},
    {"hacker news", "https://news.ycombinator.com/item?id=1", "https://example.com/", "Hacker News",
     "social", "news.ycombinator.com", ""},
    {"gmail", "https://mail.google.com/mail/u/0/", "https://example.com/", "Gmail", "email",
     "mail.google.com", ""},
    {"newsletter via utm", "", "https://example.com/?utm_source=newsletter&utm_medium=email",
     "newsletter", "email", "", ""},
    {"self-referral", "https://example.com/other", "https://example.com/", "Direct / None",
     "(none)", "", ""},
    {"self-referral, www variant", "https://www.example.com/other", "https://example.com/",
     "Direct / None", "(none)", "", ""},
    {"self-referral with utm", "https://example.com/", "https://example.com/?utm_source=Launch",
     "Launch", "unknown", "", ""},
    {"subdomain of the site is a referral", "https://docs.example.com/intro",
     "https://example.com/", "docs.example.com", "referral", "docs.example.com", ""},
    {"unknown host", "https://blog.someone.net/post", "https://example.com/", "blog.someone.net",
     "referral", "blog.someone.net", ""},
    {"no referrer", "", "https://example.com/", "Direct / None", "(none)", "", ""},
    {"unparseable referrer", "not a url", "https://example.com/", "Direct / None", "(none)", "",
     ""},
    {"gclid", "", "https://example.com/?gclid=abc", "Google", "paid", "", ""},
    {"gclid with google referrer", "https://www.google.com/", "https://example.com/?gclid=abc",
     "Google", "paid", "google.com", ""},
    {"msclkid", "https://www.bing.com/", "https://example.com/?msclkid=x", "Bing", "paid",
     "bing.com", ""},
    {"fbclid is not paid", "https://l.facebook.com/", "https://example.com/?fbclid=x", "Facebook",
     "social", "l.facebook.com", ""},
    {"utm_medium=cpc", "", "https://example.com/?utm_source=google&utm_medium=cpc&utm_term=shoes",
     "Google", "paid", "", "shoes"},
    {"utm_source only, known", "", "https://example.com/?utm_source=twitter", "Twitter", "social",
     "", ""},
    {"utm_source only, unknown", "", "https://example.com/?utm_source=partner-site", "partner-site",
     "unknown", "", ""},
    {"utm_source as host", "", "https://example.com/?utm_source=duckduckgo.com", "DuckDuckGo",
     "search", "", ""},
    {"ref fallback", "", "https://example.com/?ref=producthunt", "producthunt", "unknown", "", ""},
    {"utm_source beats referrer name", "https://www.facebook.com/",
     "https://example.com/?utm_source=spring-promo&utm_medium=social", "spring-promo", "social",
     "facebook.com", ""},
    {"unrecognised utm_medium falls back to referrer", "https://www.reddit.com/",
     "https://example.com/?utm_medium=weird", "Reddit", "social", "reddit.com", ""},
    {"path-prefixed host map entry", "https://www.google.com/imgres?imgurl=x",
     "https://example.com/", "Google Images", "search", "google.com", ""},
};

}  // namespace

TEST_CASE("classify: table", "[referrer]") {
  const auto classifier = source_classifier::builtin();
  REQUIRE(classifier.size() > 1000);
  for (const auto& r : rows) {
    INFO(r.name);
    const auto got = classifier.classify(r.referrer, site, parse_campaign(r.page_url));
    CHECK(got.source == r.source);
    CHECK(got.medium == r.medium);
    CHECK(got.referrer_host == r.referrer_host);
    CHECK(got.term == r.term);
  }
}

TEST_CASE("classify: page host with www is the same site", "[referrer]") {
  const auto got =
      source_classifier::builtin().classify("https://example.com/a", "www.example.com", {});
  CHECK(got.source == plumb::enrich::direct_source);
}

TEST_CASE("source_classifier::from_json rejects malformed maps", "[referrer]") {
  CHECK_FALSE(source_classifier::from_json("[]"));
  CHECK_FALSE(source_classifier::from_json("{\"a.com\": {\"source\": 1}}"));
  CHECK_FALSE(source_classifier::from_json("{"));
  const auto custom = source_classifier::from_json(
      R"({"www.a.example": {"source": "A", "medium": "social"}, "b.example": {"source": "B", "medium": "odd"}})");
  REQUIRE(custom);
  CHECK(custom->classify("https://x.a.example/", site, {}).source == "A");
  CHECK(custom->classify("https://b.example/", site, {}).medium == "unknown");
}

TEST_CASE("parse_page_url", "[referrer]") {
  SECTION("query dropped, path kept as sent") {
    const auto u = parse_page_url("https://WWW.Example.COM:8443/a%20b/?token=secret#top", false);
    REQUIRE(u);
    CHECK(u->hostname == "example.com");
    CHECK(u->path == "/a%20b/");
  }
  SECTION("empty path is /") {
    CHECK(parse_page_url("https://example.com", false)->path == "/");
    CHECK(parse_page_url("https://example.com?x=1", false)->path == "/");
    CHECK(parse_page_url("https://example.com#frag", true)->path == "/#frag");
  }
  SECTION("fragment only in hash mode, without its query") {
    CHECK(parse_page_url("https://example.com/app#/settings", false)->path == "/app");
    CHECK(parse_page_url("https://example.com/app#/settings", true)->path == "/app#/settings");
    CHECK(parse_page_url("https://example.com/app?a=1#/s?tab=2", true)->path == "/app#/s");
    CHECK(parse_page_url("https://example.com/app#", true)->path == "/app");
  }
  SECTION("user info and trailing dot dropped") {
    const auto u = parse_page_url("http://user:pw@shop.example.com./x", false);
    REQUIRE(u);
    CHECK(u->hostname == "shop.example.com");
  }
  SECTION("IPv6 and localhost") {
    CHECK(parse_page_url("http://[::1]:8080/", false)->hostname == "[::1]");
    CHECK(parse_page_url("http://localhost:3000/", false)->hostname == "localhost");
  }
  SECTION("bad URLs") {
    for (const char* bad :
         {"", "/relative/path", "example.com/x", "https://", "https:///x", "https://exa mple.com/",
          "https://example.com:80a/", "https://[::1/", "https://a..b/", "1http://example.com/",
          "https://example.com/\n", "https://example.com/\xff"}) {
      INFO(bad);
      CHECK_FALSE(parse_page_url(bad, false));
    }
    CHECK_FALSE(parse_page_url("https://" + std::string(300, 'a') + ".com/", false));
  }
  SECTION("long paths are truncated at a UTF-8 boundary") {
    std::string path = "/" + std::string(plumb::enrich::max_page_path_bytes - 2, 'a') + "\xC3\xA9";
    const auto u = parse_page_url("https://example.com" + path, false);
    REQUIRE(u);
    CHECK(u->path.size() == plumb::enrich::max_page_path_bytes - 1);
    CHECK(u->path.back() == 'a');
  }
}

TEST_CASE("parse_campaign", "[referrer]") {
  SECTION("all fields, decoded and trimmed, case kept") {
    const campaign c = parse_campaign(
        "https://example.com/?utm_source=News%20Letter&utm_medium=Email&utm_campaign=spring+sale"
        "&utm_term=%20caf%C3%A9%20&utm_content=hero&gclid=123#x");
    CHECK(c.source == "News Letter");
    CHECK(c.medium == "Email");
    CHECK(c.campaign == "spring sale");
    CHECK(c.term == "café");
    CHECK(c.content == "hero");
    CHECK(c.click_id_kind == "gclid");
  }
  SECTION("ref and source fall back for utm_source, in that order") {
    CHECK(parse_campaign("https://e.com/?source=b&ref=a").source == "a");
    CHECK(parse_campaign("https://e.com/?source=b").source == "b");
    CHECK(parse_campaign("https://e.com/?utm_source=&ref=a").source == "a");
    CHECK(parse_campaign("https://e.com/?ref=a&utm_source=u").source == "u");
  }
  SECTION("fragment is not the query") {
    CHECK(parse_campaign("https://e.com/#?utm_source=x").source.empty());
  }
  SECTION("bounded, control characters and invalid UTF-8 dropped") {
    const campaign c = parse_campaign("https://e.com/?utm_source=" + std::string(1000, 'x') +
                                      "&utm_medium=a%00b%0A&utm_term=%FF");
    CHECK(c.source.size() == plumb::enrich::max_campaign_value_bytes);
    CHECK(c.medium == "ab");
    CHECK(c.term.empty());
  }
  SECTION("malformed input") {
    CHECK(parse_campaign("not a url") == campaign{});
    CHECK(parse_campaign("https://e.com/?utm_source=%zz%4").source == "%zz%4");
    CHECK(parse_campaign("https://e.com/?&&=&utm_source").source.empty());
  }
  SECTION("click id kinds") {
    CHECK(parse_campaign("https://e.com/?msclkid=1").click_id_kind == "msclkid");
    CHECK(parse_campaign("https://e.com/?fbclid=1").click_id_kind == "fbclid");
    CHECK(parse_campaign("https://e.com/?li_fat_id=1").click_id_kind == "li_fat_id");
    CHECK(parse_campaign("https://e.com/?wbraid=1").click_id_kind == "wbraid");
    CHECK(parse_campaign("https://e.com/?id=1").click_id_kind.empty());
  }
}

TEST_CASE("spam_filter: format and matching", "[referrer]") {
  const auto filter = spam_filter::from_text(
      "# comment\n\n  Spam.Example  \r\nother-spam.test\n#not-listed.test\n   \nspam.example\n");
  CHECK(filter.size() == 2);
  CHECK(filter.is_spam("spam.example"));
  CHECK(filter.is_spam("www.spam.example"));
  CHECK(filter.is_spam("a.b.SPAM.example."));
  CHECK(filter.is_spam("other-spam.test"));
  CHECK_FALSE(filter.is_spam("not-listed.test"));
  CHECK_FALSE(filter.is_spam("notspam.example"));
  CHECK_FALSE(filter.is_spam("example"));
  CHECK_FALSE(filter.is_spam(""));
}

TEST_CASE("spam_filter: built-in default", "[referrer]") {
  const auto filter = spam_filter::builtin();
  CHECK(filter.size() >= 20);
  CHECK(filter.is_spam("semalt.com"));
  CHECK(filter.is_spam("www.semalt.com"));
  CHECK_FALSE(filter.is_spam("google.com"));
}

TEST_CASE("spam_filter: missing file is an error", "[referrer]") {
  CHECK_FALSE(spam_filter::from_file("/nonexistent/plumb/spammers.txt"));
}

TEST_CASE("spam_filter: Matomo's referrer-spam-list", "[referrer]") {
  const std::filesystem::path dir{PLUMB_REFERRER_SPAM_TESTDATA_DIR};
  const auto file = dir / "spammers.txt";
  if (!std::filesystem::exists(file)) {
    WARN("skipped: " << file.string() << " not found");
    return;
  }
  const auto filter = spam_filter::from_file(file.string());
  REQUIRE(filter);
  CHECK(filter->size() > 1000);

  // The first three entries of the file itself, so the test follows list updates.
  std::ifstream in(file);
  std::vector<std::string> first;
  for (std::string line; first.size() < 3 && std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (!line.empty() && line.front() != '#') {
      first.push_back(line);
    }
  }
  REQUIRE(first.size() == 3);
  for (const auto& domain : first) {
    INFO(domain);
    CHECK(filter->is_spam(domain));
    CHECK(filter->is_spam("sub." + domain));
  }
  CHECK_FALSE(filter->is_spam("google.com"));
  CHECK_FALSE(filter->is_spam("example.com"));
}
