// GFLOP/s of xlax::kernels::conv_general on the shared shape set, NHWC lhs, HWIO rhs,
// NHWC out (JAX's usual layouts), at 1 and 2 threads: the forward conv and the two
// transpose-rule convs of its vjp (geometry and layouts as ops/conv.cpp builds them).
// Usage: bench_conv_kernel [shapes.txt] [shape-name-substring] [float|double]
//                          [fwd|bwd_data|bwd_weights|all] [threads, default "1,2"]
//                          [build: auto|avx512|avx2|generic, default auto]
// FLOPs: 2*N*Cout*prod(out)*Cin/groups*prod(kernel); for convT the useful work
// 2*N*Cout*Cin/groups*prod(in)*prod(kernel) (no inserted zeros), as in docs/benchmarks.md.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <xlax/core.hpp>

#include "ops/kernels/conv/conv_kernel.hpp"
#include "ops/kernels/conv/dense_conv.hpp"

namespace {

struct Shape {
  std::string name, kind;
  int64_t N, Cin, Cout, groups;
  std::vector<int64_t> in, kernel, stride, dil, lo, hi;
};

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::stoll(item));
  return v;
}

std::vector<Shape> read_shapes(const std::string& path) {
  std::ifstream f(path);
  std::vector<Shape> shapes;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    Shape s;
    std::string in, k, st, d, lo, hi;
    if (!(ss >> s.name >> s.kind >> s.N >> s.Cin >> s.Cout >> s.groups >> in >> k >> st >> d >> lo >> hi))
      continue;
    s.in = parse_list(in), s.kernel = parse_list(k), s.stride = parse_list(st);
    s.dil = parse_list(d), s.lo = parse_list(lo), s.hi = parse_list(hi);
    shapes.push_back(s);
  }
  return shapes;
}

// Row-major strides of `shape` listed in memory order `order` (outermost first), returned
// in canonical axis order.
std::vector<int64_t> strides_for(const std::vector<int64_t>& shape, const std::vector<size_t>& order) {
  std::vector<int64_t> st(shape.size());
  int64_t s = 1;
  for (size_t k = order.size(); k-- > 0;) {
    st[order[k]] = s;
    s *= shape[order[k]];
  }
  return st;
}

struct Problem {
  xlax::kernels::ConvGeometry g;
  double flops = 0;
  int64_t lhs_elems = 1, rhs_elems = 1, out_elems = 1;
};

Problem make_problem(const Shape& s) {
  Problem p;
  auto& g = p.g;
  const size_t n = s.in.size();
  g.N = s.N, g.C = s.Cin, g.O = s.Cout, g.feature_group_count = s.groups, g.I = s.Cin / s.groups;
  g.lhs_size = s.in, g.kernel_size = s.kernel, g.rhs_dilation = s.dil;
  const bool transposed = s.kind == "convT";
  double useful = 2.0 * s.N * s.Cout * g.I;
  for (size_t i = 0; i < n; ++i) {
    const int64_t keff = (s.kernel[i] - 1) * s.dil[i] + 1;
    if (transposed) {  // JAX conv with lhs dilation = stride and padding keff-1-crop
      g.stride.push_back(1);
      g.lhs_dilation.push_back(s.stride[i]);
      g.pad_lo.push_back(keff - 1 - s.lo[i]);
      g.out_size.push_back((s.in[i] - 1) * s.stride[i] + keff - s.lo[i] - s.hi[i]);
      useful *= s.in[i] * s.kernel[i];
    } else {
      g.stride.push_back(s.stride[i]);
      g.lhs_dilation.push_back(1);
      g.pad_lo.push_back(s.lo[i]);
      g.out_size.push_back((s.in[i] + s.lo[i] + s.hi[i] - keff) / s.stride[i] + 1);
      useful *= g.out_size[i] * s.kernel[i];
    }
  }
  p.flops = useful;
  std::vector<int64_t> lshape{g.N, g.C}, rshape{g.O, g.I}, oshape{g.N, g.O};
  std::vector<size_t> nhwc{0}, hwio;
  for (size_t i = 0; i < n; ++i) {
    lshape.push_back(s.in[i]), rshape.push_back(s.kernel[i]), oshape.push_back(g.out_size[i]);
    nhwc.push_back(i + 2), hwio.push_back(i + 2);
  }
  nhwc.push_back(1);
  hwio.push_back(1), hwio.push_back(0);
  g.lhs_strides = strides_for(lshape, nhwc);
  g.rhs_strides = strides_for(rshape, hwio);
  g.out_strides = strides_for(oshape, nhwc);
  for (auto d : lshape) p.lhs_elems *= d;
  for (auto d : rshape) p.rhs_elems *= d;
  for (auto d : oshape) p.out_elems *= d;
  return p;
}

int64_t dilate(int64_t d, int64_t r) { return d == 0 ? 0 : (d - 1) * r + 1; }

// The lhs transpose rule (dX): conv of the cotangent (NHWC) with the spatially flipped
// kernel, features swapped; window stride = forward lhs dilation, lhs dilation = forward
// stride. Ungrouped shapes only (groups re-lay the kernel out first in ops/conv.cpp).
Problem bwd_data_problem(const Problem& f) {
  Problem p = f;
  auto& g = p.g;
  const auto& fg = f.g;
  const size_t n = fg.lhs_size.size();
  g.N = fg.N, g.C = fg.O, g.I = fg.O, g.O = fg.C;
  g.lhs_size = fg.out_size, g.out_size = fg.lhs_size;
  for (size_t i = 0; i < n; ++i) {
    g.stride[i] = fg.lhs_dilation[i];
    g.lhs_dilation[i] = fg.stride[i];
    g.pad_lo[i] = dilate(fg.kernel_size[i], fg.rhs_dilation[i]) - 1 - fg.pad_lo[i];
  }
  g.lhs_strides = fg.out_strides;
  g.out_strides = fg.lhs_strides;
  g.rhs_strides = fg.rhs_strides;
  std::swap(g.rhs_strides[0], g.rhs_strides[1]);
  p.lhs_elems = f.out_elems, p.out_elems = f.lhs_elems;
  return p;
}

// The rhs transpose rule (dW): lhs = X with batch and feature roles swapped, rhs = the
// cotangent (window = forward output), out = dW; stride <-> rhs dilation, feature groups
// become batch groups.
Problem bwd_weights_problem(const Problem& f) {
  Problem p = f;
  auto& g = p.g;
  const auto& fg = f.g;
  const size_t n = fg.lhs_size.size();
  g.N = fg.C, g.C = fg.N, g.I = fg.N, g.O = fg.O;
  g.feature_group_count = 1, g.batch_group_count = fg.feature_group_count;
  g.kernel_size = fg.out_size, g.out_size = fg.kernel_size;
  g.stride = fg.rhs_dilation, g.rhs_dilation = fg.stride;
  g.lhs_strides = fg.lhs_strides, g.rhs_strides = fg.out_strides, g.out_strides = fg.rhs_strides;
  std::swap(g.lhs_strides[0], g.lhs_strides[1]);
  std::swap(g.rhs_strides[0], g.rhs_strides[1]);
  std::swap(g.out_strides[0], g.out_strides[1]);
  (void)n;
  p.rhs_elems = f.out_elems, p.out_elems = f.rhs_elems;
  return p;
}

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// Median seconds per call over repeated timed batches of about 20 ms; cpu_sec gets the
// median process CPU time per call (at 1 thread, robust to other load on a shared machine).
template <class T>
double time_conv(double& cpu_sec, const Problem& p, const std::vector<T>& lhs, const std::vector<T>& rhs, std::vector<T>& out) {
  using clock = std::chrono::steady_clock;
  auto call = [&] { xlax::kernels::conv_general<T>(p.g, lhs.data(), rhs.data(), out.data()); };
  call();
  int reps = 1;
  for (;;) {
    const auto t0 = clock::now();
    for (int r = 0; r < reps; ++r) call();
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    if (dt > 0.02 || reps > (1 << 20)) break;
    reps *= 2;
  }
  std::vector<double> samples, cpu;
  for (int k = 0; k < 7; ++k) {
    const auto t0 = clock::now();
    const double c0 = cpu_seconds();
    for (int r = 0; r < reps; ++r) call();
    cpu.push_back((cpu_seconds() - c0) / reps);
    samples.push_back(std::chrono::duration<double>(clock::now() - t0).count() / reps);
  }
  std::sort(samples.begin(), samples.end());
  std::sort(cpu.begin(), cpu.end());
  cpu_sec = cpu[cpu.size() / 2];
  return samples[samples.size() / 2];
}

template <class T>
void run(const std::vector<Shape>& shapes, const std::string& filter, const char* type,
         const std::string& pass_filter, const std::vector<int64_t>& thread_counts) {
  std::printf("shape,kind,pass,dtype,threads,mflop,usec,gflops,gflops_per_cpu_sec\n");
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(-1, 1);
  for (const Shape& s : shapes) {
    if (!filter.empty() && s.name.find(filter) == std::string::npos) continue;
    const Problem fwd = make_problem(s);
    for (const char* pass : {"fwd", "bwd_data", "bwd_weights"}) {
      if (pass_filter != "all" && pass_filter != pass) continue;
      const std::string ps = pass;
      if (ps == "bwd_data" && s.groups > 1) continue;  // see bwd_data_problem
      const Problem p = ps == "fwd" ? fwd : ps == "bwd_data" ? bwd_data_problem(fwd) : bwd_weights_problem(fwd);
      std::vector<T> lhs(p.lhs_elems), rhs(p.rhs_elems), out(p.out_elems);
      for (auto& x : lhs) x = static_cast<T>(u(rng));
      for (auto& x : rhs) x = static_cast<T>(u(rng));
      for (int64_t threads : thread_counts) {
        xlax::set_num_threads(static_cast<int>(threads));
        double cpu_sec = 0;
        const double sec = time_conv(cpu_sec, p, lhs, rhs, out);
        std::printf("%s,%s,%s,%s,%d,%.3f,%.1f,%.2f,%.2f\n", s.name.c_str(), s.kind.c_str(), pass, type,
                    static_cast<int>(threads), p.flops * 1e-6, sec * 1e6, p.flops / sec * 1e-9,
                    p.flops / (cpu_sec / threads) * 1e-9);
        std::fflush(stdout);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "/work/shared/bench/shapes.txt";
  const std::string filter = argc > 2 ? argv[2] : "";
  const std::string type = argc > 3 ? argv[3] : "float";
  const std::string pass = argc > 4 ? argv[4] : "all";
  const std::vector<int64_t> threads = parse_list(argc > 5 ? argv[5] : "1,2");
  using xlax::kernels::detail::ConvPath;
  const std::string build = argc > 6 ? argv[6] : "auto";
  xlax::kernels::detail::set_conv_path(build == "avx512" ? ConvPath::Avx512
                                       : build == "avx2"  ? ConvPath::Avx2
                                       : build == "generic" ? ConvPath::Generic
                                                            : ConvPath::Auto);
  const std::vector<Shape> shapes = read_shapes(path);
  if (shapes.empty()) {
    std::fprintf(stderr, "no shapes read from %s\n", path.c_str());
    return 1;
  }
  if (type == "double")
    run<double>(shapes, filter, "f64", pass, threads);
  else
    run<float>(shapes, filter, "f32", pass, threads);
  return 0;
}
