#include "plumb/ingest/enricher.hpp"

#include <catch2/catch.hpp>

#include "plumb/ingest/rollup_deltas.hpp"

using namespace plumb;
using events::dimension;

namespace {

events::event located(std::string country, std::string region, std::string city) {
  events::event e;
  e.received_ms = 1'763'700'000'000;
  e.id = core::event_id::generate(core::from_unix_ms(e.received_ms));
  e.site_id = 1;
  e.name = "pageview";
  e.url = "https://example.com/";
  e.user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
  e.country = std::move(country);
  e.region = std::move(region);
  e.city = std::move(city);
  return e;
}

const ingest::enricher& enricher() {
  static const ingest::enricher instance(enrich::spam_filter::builtin());
  return instance;
}

// A pack as workers wrote it before region and city existed: the first 15 values.
std::string pack_before_region_city(const std::string& packed) {
  std::size_t at = 0;
  for (int separators = 0; separators < 15; ++separators) {
    at = packed.find(events::value_separator, at) + 1;
  }
  return packed.substr(0, at - 1);
}

}  // namespace

TEST_CASE("region and city become visit dimensions, the city is qualified by region or country") {
  const auto munich = enricher().enrich(located("DE", "DE-BY", "Munich"));
  REQUIRE(munich.kept());
  CHECK(munich.value(dimension::country) == "DE");
  CHECK(munich.value(dimension::region) == "DE-BY");
  CHECK(munich.value(dimension::city) == "Munich, DE-BY");
  const std::string pack = munich.attribution();
  const auto packed = ingest::unpack_attribution(pack);
  CHECK(packed[packed.size() - 2] == "DE-BY");
  CHECK(packed.back() == "Munich, DE-BY");

  const auto mumbai = enricher().enrich(located("IN", "", "Mumbai"));  // DB-IP: no region codes
  CHECK(mumbai.value(dimension::region).empty());
  CHECK(mumbai.value(dimension::city) == "Mumbai, IN");
  const auto nowhere = enricher().enrich(located("", "", "Springfield"));
  CHECK(nowhere.value(dimension::city).empty());
}

TEST_CASE("a visit state packed before region and city existed reads them as unknown") {
  const auto x = enricher().enrich(located("DE", "DE-BY", "Munich"));
  const std::string old_pack = pack_before_region_city(x.attribution());
  REQUIRE(old_pack.size() < x.attribution().size());
  const auto values = ingest::unpack_attribution(old_pack);
  CHECK(values[8] == "DE");  // country, and everything before it, as packed
  CHECK(values[14] == x.value(dimension::screen));
  CHECK(values[15].empty());
  CHECK(values[16].empty());

  // An event extending such a visit moves the visit between the rows of "" (where the migration
  // put visits open at the switch), never to the new event's own region or city.
  storage::stored_event s;
  s.id = core::event_id::generate(core::from_unix_ms(1'763'700'060'000));
  s.site_id = 1;
  s.name = "pageview";
  s.values = x.values;
  visits::snapshot before;
  before.visit_id = "v";
  before.start_ms = 1'763'700'000'000;
  before.last_ms = before.start_ms;
  before.entry_page = before.exit_page = "/";
  before.attribution = old_pack;
  before.pageviews = 1;
  before.bounce = true;
  before.visitor_hashes = {7};
  visits::transition t{{before}, before};
  t.after.last_ms += 60'000;
  t.after.pageviews = 2;
  t.after.bounce = false;
  ingest::add_rollup_deltas(s, t.after.last_ms, {}, &t);
  std::int64_t region_visits = 0;
  std::int64_t city_pageviews = 0;
  for (const auto& d : s.deltas) {
    if (d.dimension == dimension::region || d.dimension == dimension::city) {
      CHECK(d.value.empty());
      region_visits += d.dimension == dimension::region ? d.visits : 0;
      city_pageviews += d.dimension == dimension::city ? d.pageviews : 0;
    }
  }
  CHECK(region_visits == 0);
  CHECK(city_pageviews == 1);
}
