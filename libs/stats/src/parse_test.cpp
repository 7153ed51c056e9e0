#include "plumb/stats/parse.hpp"

#include <catch2/catch.hpp>

using namespace plumb::stats;
using plumb::events::dimension;

namespace {

const site_context site{7, "Europe/Berlin", "2026-03-29", "2025-01-01", 1'774'800'000'000};

// The message of the first error on `field`, or "" when the query is valid.
std::string error_of(const parameters& params, view kind, const std::string& field) {
  const auto q = parse_query(params, kind, site);
  if (q) {
    return {};
  }
  for (const auto& [name, message] : q.error()) {
    if (name == field) {
      return message;
    }
  }
  return "(no error on " + field + ")";
}

}  // namespace

TEST_CASE("v1 parameters become a typed query with Plausible's defaults") {
  const auto q =
      parse_query({{"metrics", "visitors,bounce_rate"}, {"period", "7d"}}, view::aggregate, site);
  REQUIRE(q);
  CHECK(q->site_id == 7);
  CHECK(q->timezone == "Europe/Berlin");
  CHECK(q->range == date_range{"2026-03-23", "2026-03-29"});
  CHECK(q->metrics == std::vector{metric::visitors, metric::bounce_rate});
  CHECK(q->limit == 100);

  const auto d = parse_query({}, view::timeseries, site);
  REQUIRE(d);
  CHECK(d->range == date_range{"2026-02-28", "2026-03-29"});  // 30d
  CHECK(d->step == interval::day);
  CHECK(parse_query({{"period", "day"}}, view::timeseries, site)->step == interval::hour);
  CHECK(parse_query({{"period", "realtime"}}, view::timeseries, site)->realtime);
  CHECK(parse_query({{"period", "all"}}, view::aggregate, site)->range ==
        date_range{"2025-01-01", "2026-03-29"});
}

TEST_CASE("filters: is, is not, contains, does not contain, alternatives, AND") {
  const auto f = parse_filters(
      "event:page==/blog|/docs;visit:country!=DE;visit:source~oo;event:props:plan!~fr");
  REQUIRE(f);
  REQUIRE(f->size() == 4);
  CHECK((*f)[0].target == property{dimension::page, {}});
  CHECK((*f)[0].op == filter_op::is);
  CHECK((*f)[0].values == std::vector<std::string>{"/blog", "/docs"});
  CHECK((*f)[1].op == filter_op::is_not);
  CHECK((*f)[1].target.dimension == dimension::country);
  CHECK((*f)[2].op == filter_op::contains);
  CHECK((*f)[3].op == filter_op::does_not_contain);
  CHECK((*f)[3].target == property{dimension::prop, "plan"});
  // Values may contain '=' after the operator; injection-looking text is just a value.
  const auto g = parse_filters("event:page==/a=b' OR 1=1 --");
  REQUIRE(g);
  CHECK((*g)[0].values == std::vector<std::string>{"/a=b' OR 1=1 --"});
  CHECK_FALSE(parse_filters("event:page"));
  CHECK_FALSE(parse_filters("event:nope==x"));
  CHECK_FALSE(parse_filters("event:page<>x"));
}

TEST_CASE("region and city: Plausible's property names, city values qualified by region") {
  const auto f = parse_filters("visit:region==DE-BY|US-IL;visit:city==Springfield, US-IL|Paris, FR");
  REQUIRE(f);
  REQUIRE(f->size() == 2);
  CHECK((*f)[0].target == property{dimension::region, {}});
  CHECK((*f)[0].values == std::vector<std::string>{"DE-BY", "US-IL"});
  CHECK((*f)[1].target == property{dimension::city, {}});
  CHECK((*f)[1].values == std::vector<std::string>{"Springfield, US-IL", "Paris, FR"});
  CHECK(breakdown_key(*parse_property("visit:region")) == "region");
  CHECK(breakdown_key(*parse_property("visit:city")) == "city");
  CHECK(property_name({dimension::city, {}}) == "visit:city");
  CHECK(is_visit_dimension(dimension::region));
  CHECK(is_visit_dimension(dimension::city));
}

TEST_CASE("unknown names are refused with the valid ones listed") {
  CHECK(error_of({{"metrics", "visitors,nope"}}, view::aggregate, "metrics")
            .find("valid metrics: visitors, visits") != std::string::npos);
  CHECK(error_of({{"period", "fortnight"}}, view::aggregate, "period")
            .find("valid periods: realtime, day") != std::string::npos);
  CHECK(error_of({{"property", "visit:planet"}}, view::breakdown, "property")
            .find("valid properties: event:page") != std::string::npos);
  CHECK(error_of({}, view::breakdown, "property").find("is required") != std::string::npos);
  CHECK(
      error_of({{"interval", "fortnight"}}, view::timeseries, "interval").find("valid intervals") !=
      std::string::npos);
  CHECK(
      error_of({{"compare", "yesterday"}}, view::aggregate, "compare").find("valid comparisons") !=
      std::string::npos);
  CHECK(error_of({{"limit", "0"}}, view::breakdown, "limit") != "");
  CHECK(error_of({{"metrics", "visitors,visitors"}}, view::aggregate, "metrics").find("twice") !=
        std::string::npos);
}

TEST_CASE("metrics that need a context say which") {
  CHECK(
      error_of({{"property", "event:page"}, {"metrics", "bounce_rate"}}, view::breakdown, "metrics")
          .find("event property") != std::string::npos);
  CHECK(
      error_of({{"metrics", "conversion_rate"}}, view::aggregate, "metrics").find("needs a goal") !=
      std::string::npos);
  CHECK(error_of({{"metrics", "conversion_rate"}, {"filters", "event:goal==Signup"}},
                 view::aggregate, "metrics") == "");
  CHECK(
      error_of({{"property", "event:goal"}, {"metrics", "visitors,conversion_rate,total_revenue"}},
               view::breakdown, "metrics") == "");
  CHECK(
      error_of({{"property", "visit:source"}, {"metrics", "exit_rate"}}, view::breakdown, "metrics")
          .find("event:page") != std::string::npos);
  CHECK(error_of({{"period", "realtime"}, {"metrics", "bounce_rate"}}, view::aggregate,
                 "metrics") != "");
  CHECK(error_of({{"interval", "minute"}}, view::timeseries, "interval").find("realtime") !=
        std::string::npos);
}
