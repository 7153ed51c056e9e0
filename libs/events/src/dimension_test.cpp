#include "plumb/events/dimension.hpp"

#include <catch2/catch.hpp>

using namespace plumb::events;

TEST_CASE("a city is qualified by its region, else its country, and unknown without a country") {
  CHECK(city_value("US", "US-IL", "Springfield") == "Springfield, US-IL");
  CHECK(city_value("US", "US-MA", "Springfield") == "Springfield, US-MA");
  CHECK(city_value("IN", "", "Mumbai") == "Mumbai, IN");  // databases without region codes
  CHECK(city_value("US", "US-DC", "Washington, D.C.") == "Washington, D.C., US-DC");
  CHECK(city_value("", "", "Nowhere").empty());
  CHECK(city_value("DE", "DE-BY", "").empty());
}

TEST_CASE("dimension numbers and names are stable") {
  CHECK(static_cast<int>(dimension::region) == 37);
  CHECK(static_cast<int>(dimension::city) == 38);
  CHECK(dimension_named("region") == dimension::region);
  CHECK(name_of(dimension::city) == "city");
  // Appended last: visit states packed before them unpack with both unknown.
  CHECK(attribution_dimensions[attribution_dimensions.size() - 2] == dimension::region);
  CHECK(attribution_dimensions.back() == dimension::city);
}
