// Uses the public API through the umbrella header; exits non-zero on a wrong result.
#include <cmath>
#include <iostream>
#include <xlax/xlax.hpp>

int main() {
  xt::xarray<double> x = {{{1, 2, 3, 4, 5}}};
  xt::xarray<double> w = {{{1, 0, -1}}};
  xlax::Tensor y = xlax::lax::conv_general_dilated(xlax::asarray(x), xlax::asarray(w), {1}, "VALID");
  auto g = xlax::grad([](const std::vector<xlax::Tensor>& a) { return xlax::sum(a[0] * a[0]); })({xlax::asarray(x)})[0];
  xt::xarray<double> out = xlax::to_xarray<double>(y);
  xt::xarray<double> expected = {{{-2, -2, -2}}};
  bool ok = out == expected && xlax::to_xarray<double>(g)(0, 0, 4) == 10.0;
  std::cout << "consumer: conv " << xlax::to_string(y.shape()) << (ok ? " ok" : " WRONG") << "\n";
  return ok ? 0 : 1;
}
