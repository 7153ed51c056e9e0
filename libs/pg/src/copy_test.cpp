#include "plumb/pg/copy.hpp"

#include <catch2/catch.hpp>

namespace plumb::pg {

TEST_CASE("copy rows escape the text format's special characters", "[pg][copy]") {
  copy_row row;
  row.text("").integer(-42).text("a\tb\\c\nd\re").null().boolean(true).raw("{1,2}");
  CHECK(row.line() == "\t-42\ta\\tb\\\\c\\nd\\re\t\\N\tt\t{1,2}");
  row.clear();
  row.text("x");
  CHECK(row.line() == "x");
}

TEST_CASE("array literals quote and escape their elements", "[pg][copy]") {
  const std::vector<std::string> texts{"plain", "", "quote\"d", "back\\slash", "comma,{brace}"};
  CHECK(text_array(texts) == R"({"plain","","quote\"d","back\\slash","comma,{brace}"})");
  CHECK(text_array(std::vector<std::string>{}) == "{}");
  const std::vector<std::int64_t> numbers{1, -2, 9'000'000'000};
  CHECK(bigint_array(numbers) == "{1,-2,9000000000}");
  std::string reused = "old content";
  bigint_array(numbers, reused);
  CHECK(reused == "{1,-2,9000000000}");
  bigint_array(std::vector<std::int64_t>{}, reused);
  CHECK(reused == "{}");
}

}  // namespace plumb::pg
