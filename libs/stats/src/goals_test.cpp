#include <catch2/catch.hpp>

#include "plumb/stats/query.hpp"

using namespace plumb;

TEST_CASE("pageview goal names carry their pattern") {
  CHECK(stats::page_goal_pattern("Visit /blog*") == "/blog*");
  CHECK_FALSE(stats::page_goal_pattern("Signup").has_value());
  CHECK_FALSE(stats::page_goal_pattern("Visit ").has_value());
  CHECK_FALSE(stats::page_goal_pattern("visit /blog").has_value());
}

TEST_CASE("page goal patterns become LIKE patterns with only '*' as a wildcard") {
  CHECK(stats::page_goal_like("/blog*") == "/blog%");
  CHECK(stats::page_goal_like("/docs/**") == "/docs/%");
  CHECK(stats::page_goal_like("/*/edit") == "/%/edit");
  CHECK(stats::page_goal_like("/a_b%c\\d") == "/a\\_b\\%c\\\\d");
  CHECK(stats::page_goal_like("/exact") == "/exact");
}
