// Convolution speed through xlax's PUBLIC API, the way users take it: forward =
// lax::conv_general_dilated on NHWC / HWIO tensors, then eval(); backward data / weights =
// the gradients returned by vjp() with a fixed cotangent, each evaluated on its own.
// Same shapes file format, FLOP count and CSV columns as the oneDNN / PyTorch references in
// ../shared/bench (conv_onednn.cpp, conv_torch.py), so bench/compare.py can put them side
// by side.
//
// Usage: bench_conv [shapes file] [threads=1] [comma-separated shape names, '' = all] [--tiny]
//   shapes file default /work/shared/bench/shapes.txt; env BENCH_SAMPLES (default 9).
//   --tiny: only the overhead mode (build + eval of the 1-D tutorial conv t_1d, per call, us).
//
// Timing: every timed eval really recomputes: each call builds a fresh graph (one conv
// node, or one fresh vjp trace; leaves x, w, g are shared, already materialised tensors),
// timed apart (build_us column), then evaluates it and drops the result: the timed region
// is eval() plus freeing the graph and its output (as a training step, where the previous
// step's buffers are freed and reused). >= ~25 ms of calls per sample; median and min
// over samples after warm-up, as the references do. other_cpu_pct = share of all cores used
// by other processes during the samples (re-run cells above 15).
//
// FLOPs: 2*N*Cout*prod(out spatial)*Cin/groups*prod(kernel); for kind convT the useful work
// 2*N*Cout*Cin/groups*prod(in spatial)*prod(kernel) (no inserted zeros).
// kind convT is JAX's conv with lhs_dilation = stride and padding (k_eff-1-lo, k_eff-1-hi),
// so out = (in-1)*stride + k_eff - lo - hi (oneDNN deconvolution / torch conv_transpose).
//
// Memory: peak_extra_bytes = xlax::memory_stats().peak_bytes growth over the bytes in use
// before one build+eval (output and temporaries of one call; tensor buffers only);
// vmhwm_kib = process peak RSS (/proc/self/status VmHWM) so far, which also sees any
// kernel scratch that is not a tensor buffer.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <xlax/autodiff.hpp>
#include <xlax/core.hpp>
#include <xlax/lax.hpp>

namespace {

using xlax::Tensor;
namespace lax = xlax::lax;

struct ConvShape {
  std::string name, kind;
  int64_t N = 0, Cin = 0, Cout = 0, G = 1;
  std::vector<int64_t> in, k, s, d, lo, hi, out;
  bool transposed() const { return kind == "convT"; }
};

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  std::string t;
  while (std::getline(ss, t, ',')) v.push_back(std::stoll(t));
  return v;
}

std::vector<ConvShape> load_shapes(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    std::fprintf(stderr, "bench_conv: cannot open %s\n", path.c_str());
    std::exit(1);
  }
  std::vector<ConvShape> shapes;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    ConvShape sh;
    std::string in, k, s, d, lo, hi;
    if (!(ss >> sh.name >> sh.kind >> sh.N >> sh.Cin >> sh.Cout >> sh.G >> in >> k >> s >> d >> lo >> hi))
      continue;
    sh.in = parse_list(in), sh.k = parse_list(k), sh.s = parse_list(s);
    sh.d = parse_list(d), sh.lo = parse_list(lo), sh.hi = parse_list(hi);
    for (size_t i = 0; i < sh.in.size(); ++i) {
      const int64_t ek = (sh.k[i] - 1) * sh.d[i] + 1;
      if (sh.transposed())
        sh.out.push_back((sh.in[i] - 1) * sh.s[i] + ek - sh.lo[i] - sh.hi[i]);
      else
        sh.out.push_back((sh.in[i] + sh.lo[i] + sh.hi[i] - ek) / sh.s[i] + 1);
    }
    shapes.push_back(sh);
  }
  return shapes;
}

double prod(const std::vector<int64_t>& v) {
  double p = 1;
  for (int64_t x : v) p *= static_cast<double>(x);
  return p;
}

double useful_flops(const ConvShape& sh) {
  if (sh.transposed()) return 2.0 * sh.N * sh.Cout * (sh.Cin / sh.G) * prod(sh.in) * prod(sh.k);
  return 2.0 * sh.N * sh.Cout * prod(sh.out) * (sh.Cin / sh.G) * prod(sh.k);
}

using clk = std::chrono::steady_clock;
double now() { return std::chrono::duration<double>(clk::now().time_since_epoch()).count(); }

double machine_busy_s() {  // CPU seconds of the whole machine (incl. steal), /proc/stat
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return 0;
  unsigned long long u = 0, n = 0, sy = 0, id = 0, io = 0, irq = 0, sirq = 0, st = 0;
  if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &n, &sy, &id, &io, &irq, &sirq,
                  &st) != 8)
    u = n = sy = irq = sirq = st = 0;
  std::fclose(f);
  return double(u + n + sy + irq + sirq + st) / double(sysconf(_SC_CLK_TCK));
}
double own_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}
const long g_ncpu = sysconf(_SC_NPROCESSORS_ONLN);

long vmhwm_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

Tensor random_tensor(const xlax::Shape& shape, unsigned seed) {
  int64_t n = 1;
  for (int64_t x : shape) n *= x;
  std::vector<float> v(static_cast<size_t>(n));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (auto& x : v) x = u(rng);
  Tensor t = xlax::asarray(v.data(), shape);
  t.eval();
  return t;
}

// One problem: leaves and the conv as a function of (lhs, rhs).
struct Problem {
  Tensor x, w, g;  // NHWC input, HWIO kernel, NHWC cotangent (all materialised)
  std::function<Tensor(const Tensor&, const Tensor&)> conv;
  xlax::Shape out_shape;
};

Problem make_problem(const ConvShape& sh) {
  const size_t nsp = sh.in.size();
  static const char* lhs_s[] = {"", "NWC", "NHWC", "NDHWC"};
  static const char* rhs_s[] = {"", "WIO", "HWIO", "DHWIO"};
  if (nsp < 1 || nsp > 3) {
    std::fprintf(stderr, "bench_conv: %s: 1-3 spatial dims supported\n", sh.name.c_str());
    std::exit(1);
  }
  lax::DimensionNumbers dn(lhs_s[nsp], rhs_s[nsp], lhs_s[nsp]);
  std::vector<std::pair<int64_t, int64_t>> pads;
  std::vector<int64_t> strides, lhs_dil;
  for (size_t i = 0; i < nsp; ++i) {
    if (sh.transposed()) {
      const int64_t ek = (sh.k[i] - 1) * sh.d[i] + 1;
      pads.emplace_back(ek - 1 - sh.lo[i], ek - 1 - sh.hi[i]);
      strides.push_back(1);
      lhs_dil.push_back(sh.s[i]);
    } else {
      pads.emplace_back(sh.lo[i], sh.hi[i]);
      strides.push_back(sh.s[i]);
      lhs_dil.push_back(1);
    }
  }
  Problem p;
  xlax::Shape xs{sh.N}, ws, os{sh.N};
  for (auto v : sh.in) xs.push_back(v);
  xs.push_back(sh.Cin);
  for (auto v : sh.k) ws.push_back(v);
  ws.push_back(sh.Cin / sh.G);
  ws.push_back(sh.Cout);
  for (auto v : sh.out) os.push_back(v);
  os.push_back(sh.Cout);
  p.out_shape = os;
  p.x = random_tensor(xs, 1);
  p.w = random_tensor(ws, 2);
  p.g = random_tensor(os, 3);
  const lax::Padding padding(pads);
  const std::vector<int64_t> rd = sh.d;
  const int64_t groups = sh.G;
  p.conv = [=](const Tensor& x, const Tensor& w) {
    return lax::conv_general_dilated(x, w, strides, padding, lhs_dil, rd, dn, groups);
  };
  Tensor y = p.conv(p.x, p.w);
  if (y.shape() != os) {
    std::fprintf(stderr, "bench_conv: %s: output shape %s, expected %s\n", sh.name.c_str(),
                 xlax::to_string(y.shape()).c_str(), xlax::to_string(os).c_str());
    std::exit(1);
  }
  return p;
}

// Builds a fresh (unevaluated) graph for the pass; evaluating it runs the conv once.
std::function<Tensor()> builder(const Problem& p, const std::string& pass) {
  if (pass == "fwd") return [&p] { return p.conv(p.x, p.w); };
  const int which = pass == "bwd_data" ? 0 : 1;
  return [&p, which] {
    auto f = [&p](const std::vector<Tensor>& a) { return std::vector<Tensor>{p.conv(a[0], a[1])}; };
    auto res = xlax::vjp(f, {p.x, p.w}, {p.g});
    return res.second[which];
  };
}

struct Timing {
  double med = 0, mn = 0, build_med = 0, other_pct = 0;
  int iters = 0;
};

Timing time_pass(const std::function<Tensor()>& build, int nsamples) {
  double f0 = now();
  build().eval();
  if (now() - f0 > 0.1)
    nsamples = std::min(nsamples, 3);
  else
    for (int i = 0; i < 2; ++i) build().eval();
  double t0 = now(), spent = 0;
  int calls = 0;
  while (now() - t0 < 0.05 || calls < 1) {
    Tensor t = build();
    double a = now();
    t.eval();
    spent += now() - a;
    ++calls;
  }
  const int iters = std::max(1, static_cast<int>(0.025 / (spent / calls)));
  std::vector<double> ev, bd;
  double busy = 0, own = 0, wall = 0;
  for (int s = 0; s < nsamples; ++s) {
    // Per call: build (not timed), then eval and drop the result (timed), as a training
    // step does and as the references do (their outputs are reused, not accumulated).
    double build_s = 0, eval_s = 0;
    const double b0 = machine_busy_s(), o0 = own_cpu_s(), w0 = now();
    for (int i = 0; i < iters; ++i) {
      double a = now();
      Tensor t = build();
      const double b = now();
      t.eval();
      t = Tensor();
      const double e = now();
      build_s += b - a, eval_s += e - b;
    }
    wall += now() - w0, busy += machine_busy_s() - b0, own += own_cpu_s() - o0;
    bd.push_back(build_s / iters);
    ev.push_back(eval_s / iters);
  }
  std::sort(ev.begin(), ev.end());
  std::sort(bd.begin(), bd.end());
  Timing t;
  t.med = ev[ev.size() / 2], t.mn = ev[0], t.build_med = bd[bd.size() / 2], t.iters = iters;
  // /proc/stat ticks are 10 ms: the estimate is coarse for short samples.
  t.other_pct = std::max(0.0, busy - own) / (wall * double(g_ncpu)) * 100;
  return t;
}

// Tiny-conv overhead: building + evaluating t_1d (or the given shape) per call, in us.
void run_tiny(const ConvShape& sh, int nthr, int nsamples) {
  Problem p = make_problem(sh);
  for (const char* pass : {"fwd", "bwd_data", "bwd_weights"}) {
    auto build = builder(p, pass);
    for (int i = 0; i < 100; ++i) build().eval();
    std::vector<double> v;
    const int iters = 2000;
    for (int s = 0; s < std::max(nsamples, 5); ++s) {
      double a = now();
      for (int i = 0; i < iters; ++i) build().eval();
      v.push_back((now() - a) / iters);
    }
    std::sort(v.begin(), v.end());
    std::printf("xlax_tiny,nhwc,%d,%s,%s,build+eval,%.3f,%.3f,,,,\n", nthr, sh.name.c_str(), pass,
                v[v.size() / 2] * 1e6, v[0] * 1e6);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> pos;
  bool tiny = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tiny") == 0)
      tiny = true;
    else
      pos.push_back(argv[i]);
  }
  const std::string path = pos.size() > 0 && !pos[0].empty() ? pos[0] : "/work/shared/bench/shapes.txt";
  const int nthr = pos.size() > 1 ? std::atoi(pos[1].c_str()) : 1;
  const std::string filter = pos.size() > 2 ? pos[2] : "";
  const int nsamples = std::getenv("BENCH_SAMPLES") ? std::atoi(std::getenv("BENCH_SAMPLES")) : 9;
  xlax::set_num_threads(nthr);
  auto shapes = load_shapes(path);
  auto selected = [&](const ConvShape& sh) {
    return filter.empty() || ("," + filter + ",").find("," + sh.name + ",") != std::string::npos;
  };

  std::printf(
      "lib,layout,threads,shape,op,impl,median_us,min_us,gflops_median,gflops_best,other_cpu_pct,"
      "formats_src_wei_dst,ms_median,build_us_median,iters,peak_extra_bytes,vmhwm_kib\n");
  if (tiny) {
    for (auto& sh : shapes)
      if (sh.name == (filter.empty() ? std::string("t_1d") : sh.name) && selected(sh)) run_tiny(sh, nthr, nsamples);
    return 0;
  }
  int64_t max_call_peak = 0;
  for (auto& sh : shapes) {
    if (!selected(sh)) continue;
    Problem p = make_problem(sh);
    const double fl = useful_flops(sh);
    for (const char* pass : {"fwd", "bwd_data", "bwd_weights"}) {
      auto build = builder(p, pass);
      // Memory of one call: output + temporaries (tensor buffers), over what is in use.
      const int64_t in_use = xlax::memory_stats().bytes_in_use;
      xlax::reset_peak_memory();
      { build().eval(); }
      const int64_t extra = xlax::memory_stats().peak_bytes - in_use;
      max_call_peak = std::max(max_call_peak, xlax::memory_stats().peak_bytes);
      Timing t = time_pass(build, nsamples);
      std::printf("xlax,nhwc,%d,%s,%s,public_api,%.3f,%.3f,%.3f,%.3f,%.0f,NHWC HWIO NHWC,%.4f,%.3f,%d,%lld,%ld\n",
                  nthr, sh.name.c_str(), pass, t.med * 1e6, t.mn * 1e6, fl / t.med / 1e9, fl / t.mn / 1e9,
                  t.other_pct, t.med * 1e3, t.build_med * 1e6, t.iters, static_cast<long long>(extra),
                  vmhwm_kib());
      std::fflush(stdout);
    }
  }
  // Peak tensor bytes of one call (inputs, cotangent, output and temporaries alive), over
  // all cells; the timing loop itself holds `iters` outputs at once and is not counted.
  std::printf("# xlax memory: peak tensor bytes of one call %lld, process VmHWM %ld KiB\n",
              static_cast<long long>(max_call_peak), vmhwm_kib());
  return 0;
}
