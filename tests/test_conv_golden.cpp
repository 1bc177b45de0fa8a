// Every golden case of the independent reference: outputs and both VJPs; and every input
// of errors.json must be rejected with xlax::Error.
#include <catch2/catch.hpp>

#include <fstream>

#include "golden.hpp"

using namespace xlax;

TEST_CASE("golden convolution cases: outputs and VJPs", "[conv][golden]") {
  auto cases = golden::load_cases();
  REQUIRE(cases.size() == 71);
  int checked = 0;
  for (const auto& c : cases) {
    INFO(c.name << " (" << c.op << ")");
    const double tol = c.dtype == "float32" ? 1e-5 : 1e-9;
    Tensor lhs = load_npy(c.dir + "/lhs.npy");
    Tensor rhs = load_npy(c.dir + "/rhs.npy");
    Tensor expected = load_npy(c.dir + "/out.npy");
    Tensor out = golden::run_op(c, lhs, rhs);
    CHECK(to_string(out.shape()) == to_string(expected.shape()));
    CHECK(golden::relative_error(out, expected) <= tol);
    if (c.has_grads) {
      Tensor cot = load_npy(c.dir + "/cot.npy");
      Fn f = [&](const std::vector<Tensor>& a) { return std::vector<Tensor>{golden::run_op(c, a[0], a[1])}; };
      auto [outs, grads] = vjp(f, {lhs, rhs}, {cot});
      CHECK(golden::relative_error(grads[0], load_npy(c.dir + "/grad_lhs.npy")) <= tol);
      CHECK(golden::relative_error(grads[1], load_npy(c.dir + "/grad_rhs.npy")) <= tol);
    }
    ++checked;
  }
  CHECK(checked == 71);
}

TEST_CASE("golden error cases are rejected with xlax::Error", "[conv][golden]") {
  std::ifstream f(std::string(XLAX_TEST_DATA) + "/golden/errors.json");
  auto cases = nlohmann::json::parse(f);
  REQUIRE(cases.size() >= 7);
  for (const auto& e : cases) {
    INFO(e.at("why").get<std::string>());
    golden::Case c;
    c.op = e.at("op");
    c.params = e.at("params");
    Tensor lhs = zeros(e.at("shapes").at("lhs").get<Shape>(), DType::float64);
    Tensor rhs = zeros(e.at("shapes").at("rhs").get<Shape>(), DType::float64);
    CHECK_THROWS_AS(golden::run_op(c, lhs, rhs), Error);
  }
}

// conv_general_dilated keeps recently resolved arguments per thread: alternating between
// neighbouring cases (often equal shapes with other padding, dilation or layout) must give
// each case its own golden result, and a repeated call the same bits.
TEST_CASE("golden cases called alternately: resolved-argument reuse never mixes cases", "[conv][golden]") {
  auto cases = golden::load_cases();
  REQUIRE(cases.size() == 71);
  std::vector<float> previous_values;
  const golden::Case* previous = nullptr;
  Tensor previous_lhs, previous_rhs;
  for (const auto& c : cases) {
    INFO(c.name << " (" << c.op << ")");
    Tensor lhs = load_npy(c.dir + "/lhs.npy");
    Tensor rhs = load_npy(c.dir + "/rhs.npy");
    Tensor expected = load_npy(c.dir + "/out.npy");
    Tensor first = golden::run_op(c, lhs, rhs);
    CHECK(golden::relative_error(first, expected) <= (c.dtype == "float32" ? 1e-5 : 1e-9));
    if (previous) CHECK(to_vector<float>(golden::run_op(*previous, previous_lhs, previous_rhs)) == previous_values);
    previous_values = to_vector<float>(first);
    CHECK(to_vector<float>(golden::run_op(c, lhs, rhs)) == previous_values);
    previous = &c, previous_lhs = lhs, previous_rhs = rhs;
  }
}

TEST_CASE("golden error cases are rejected on every call, not only the first", "[conv][golden]") {
  std::ifstream f(std::string(XLAX_TEST_DATA) + "/golden/errors.json");
  auto cases = nlohmann::json::parse(f);
  for (const auto& e : cases) {
    golden::Case c;
    c.op = e.at("op");
    c.params = e.at("params");
    Tensor lhs = zeros(e.at("shapes").at("lhs").get<Shape>(), DType::float64);
    Tensor rhs = zeros(e.at("shapes").at("rhs").get<Shape>(), DType::float64);
    for (int k = 0; k < 2; ++k) CHECK_THROWS_AS(golden::run_op(c, lhs, rhs), Error);
  }
}
