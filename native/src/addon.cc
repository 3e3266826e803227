// N-API surface of the native backend: one function per kernel of the Backend interface (see
// src/engine/backend.ts and src/engine/backends/native.ts), plus info() and setThreads(n).
//
// Every function validates its arguments before touching memory: argument count, typed-array kinds, array
// lengths against the sizes it is given, and index values (embedding ids, gather indices, cross-entropy
// targets). A bad call throws a JS Error whose message starts with the kernel name; nothing aborts the process.
// The hot path uses raw N-API calls (one napi_get_typedarray_info per array, no handle allocation).
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "gemm.h"
#include "kernels.h"
#include "thread_pool.h"

namespace {

constexpr size_t kMaxArgs = 20;
constexpr int64_t kMaxInt = int64_t{1} << 53;  // larger numbers are not exact in a JS number
constexpr int kMaxThreads = 1024;

// a * b, saturated at INT64_MAX (both >= 0), so a size check against a real length fails instead of wrapping.
int64_t smul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > INT64_MAX / b) return INT64_MAX;
  return a * b;
}
int64_t sadd(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

struct F32Arr {
  float* p = nullptr;
  int64_t n = 0;
};
struct I32Arr {
  int32_t* p = nullptr;
  int64_t n = 0;
};
struct AnyArr {
  void* p = nullptr;
  int64_t n = 0;
  int kind = lethe::kF32;
};

const char* type_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "typed array";
  }
}

// Argument reader for one call. After the first failure every accessor is a no-op returning a harmless value
// and ok() is false; the JS exception is already pending.
class Args {
 public:
  Args(napi_env env, napi_callback_info info, const char* name, size_t need) : env_(env), name_(name) {
    argc_ = kMaxArgs;
    if (napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr) != napi_ok) {
      fail("could not read the arguments");
      return;
    }
    if (argc_ < need) fail("expected " + std::to_string(need) + " arguments, got " + std::to_string(argc_));
  }

  bool ok() const { return ok_; }
  napi_env env() const { return env_; }

  void fail(const std::string& msg) {
    if (!ok_) return;
    ok_ = false;
    bool pending = false;
    napi_is_exception_pending(env_, &pending);
    if (!pending) napi_throw_error(env_, nullptr, (std::string(name_) + ": " + msg).c_str());
  }

  bool is_null(size_t i) {
    if (!ok_ || i >= argc_) return true;
    napi_valuetype t;
    if (napi_typeof(env_, argv_[i], &t) != napi_ok) return true;
    return t == napi_null || t == napi_undefined;
  }

  F32Arr f32(size_t i, const char* what) {
    F32Arr r;
    napi_typedarray_type t;
    void* data;
    size_t len;
    if (!typed(i, what, t, data, len)) return r;
    if (t != napi_float32_array) {
      fail(std::string(what) + " must be a Float32Array, got " + type_name(t));
      return r;
    }
    r.p = static_cast<float*>(data);
    r.n = static_cast<int64_t>(len);
    return r;
  }

  I32Arr i32(size_t i, const char* what) {
    I32Arr r;
    napi_typedarray_type t;
    void* data;
    size_t len;
    if (!typed(i, what, t, data, len)) return r;
    if (t != napi_int32_array) {
      fail(std::string(what) + " must be an Int32Array, got " + type_name(t));
      return r;
    }
    r.p = static_cast<int32_t*>(data);
    r.n = static_cast<int64_t>(len);
    return r;
  }

  AnyArr f32_or_i32(size_t i, const char* what) {
    AnyArr r;
    napi_typedarray_type t;
    void* data;
    size_t len;
    if (!typed(i, what, t, data, len)) return r;
    if (t != napi_float32_array && t != napi_int32_array) {
      fail(std::string(what) + " must be a Float32Array or Int32Array, got " + type_name(t));
      return r;
    }
    r.p = data;
    r.n = static_cast<int64_t>(len);
    r.kind = t == napi_float32_array ? lethe::kF32 : lethe::kI32;
    return r;
  }

  // A Float64Array of small integers (shapes, strides, offsets) packed by the TS glue.
  const double* f64(size_t i, const char* what, int64_t& n) {
    napi_typedarray_type t;
    void* data;
    size_t len;
    n = 0;
    if (!typed(i, what, t, data, len)) return nullptr;
    if (t != napi_float64_array) {
      fail(std::string(what) + " must be a Float64Array, got " + type_name(t));
      return nullptr;
    }
    n = static_cast<int64_t>(len);
    return static_cast<const double*>(data);
  }

  double number(size_t i, const char* what) {
    if (!ok_) return 0;
    double v = 0;
    if (napi_get_value_double(env_, argv_[i], &v) != napi_ok) {
      fail(std::string(what) + " must be a number");
      return 0;
    }
    return v;
  }

  int64_t integer(size_t i, const char* what, int64_t lo = 0, int64_t hi = kMaxInt) {
    const double v = number(i, what);
    if (!ok_) return 0;
    return check_int(v, what, lo, hi);
  }

  int64_t check_int(double v, const char* what, int64_t lo = 0, int64_t hi = kMaxInt) {
    if (!ok_) return 0;
    if (!(v == std::floor(v)) || v < static_cast<double>(lo) || v > static_cast<double>(hi)) {
      fail(std::string(what) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
           "], got " + num_str(v));
      return 0;
    }
    return static_cast<int64_t>(v);
  }

  bool boolean(size_t i, const char* what) {
    if (!ok_) return false;
    bool v = false;
    if (napi_get_value_bool(env_, argv_[i], &v) != napi_ok) {
      fail(std::string(what) + " must be a boolean");
      return false;
    }
    return v;
  }

  // Fails unless arr has at least `need` elements.
  template <class A>
  void need(const A& arr, int64_t need, const char* what) {
    if (!ok_) return;
    if (arr.n < need) {
      fail(std::string(what) + " is too short: length " + std::to_string(arr.n) + ", needs " +
           (need == INT64_MAX ? std::string("more than 2^63") : std::to_string(need)));
    }
  }

  static std::string num_str(double v) {
    if (std::isnan(v)) return "NaN";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
  }

 private:
  bool typed(size_t i, const char* what, napi_typedarray_type& t, void*& data, size_t& len) {
    if (!ok_) return false;
    data = nullptr;
    len = 0;
    if (i >= argc_ || napi_get_typedarray_info(env_, argv_[i], &t, &len, &data, nullptr, nullptr) != napi_ok) {
      fail(std::string(what) + " must be a typed array");
      return false;
    }
    return true;
  }

  napi_env env_;
  const char* name_;
  size_t argc_ = 0;
  napi_value argv_[kMaxArgs];
  bool ok_ = true;
};

// Runs a kernel, turning a C++ exception (allocation failure in scratch buffers) into a JS error.
template <class F>
napi_value guarded(Args& a, F&& f) {
  if (!a.ok()) return nullptr;
  try {
    f();
  } catch (const std::exception& e) {
    a.fail(std::string("native failure: ") + e.what());
  } catch (...) {
    a.fail("native failure");
  }
  return nullptr;
}

// Extent check for an operand walked with `rank` dims of `shape` and `strides` from `offset`: every index it
// reaches must lie in [0, len). Computed in 128 bits so huge strides cannot wrap.
bool strided_in_range(int64_t offset, const int64_t* shape, const int64_t* strides, int rank, int64_t len) {
  __int128 lo = offset, hi = offset;
  for (int d = 0; d < rank; d++) {
    const __int128 span = static_cast<__int128>(shape[d] - 1) * strides[d];
    if (span < 0) lo += span; else hi += span;
  }
  return lo >= 0 && hi < len;
}

// Validates every value of an I32 index array against [0, bound) (except `skip` when allow_skip).
bool indices_in_range(Args& a, const int32_t* idx, int64_t n, int64_t bound, const char* what,
                      bool allow_skip = false, int64_t skip = 0) {
  int32_t bad_at = -1;
  int64_t bad = 0;
  // Branch-free min/max scan first (vectorises); the exact offender is located only on failure.
  int32_t mn = INT32_MAX, mx = INT32_MIN;
  for (int64_t i = 0; i < n; i++) {
    mn = idx[i] < mn ? idx[i] : mn;
    mx = idx[i] > mx ? idx[i] : mx;
  }
  if (n == 0 || (mn >= 0 && mx < bound)) return true;
  for (int64_t i = 0; i < n; i++) {
    const int64_t v = idx[i];
    if (allow_skip && v == skip) continue;
    if (v < 0 || v >= bound) {
      bad_at = static_cast<int32_t>(i);
      bad = v;
      break;
    }
  }
  if (bad_at < 0) return true;
  a.fail(std::string(what) + "[" + std::to_string(bad_at) + "] = " + std::to_string(bad) + " is out of range [0, " +
         std::to_string(bound) + ")");
  return false;
}

// ---------------------------------------------------------------------------------------------------------

napi_value Gemm(napi_env env, napi_callback_info info) {
  Args a(env, info, "gemm", 17);
  const bool transA = a.boolean(0, "transA");
  const bool transB = a.boolean(1, "transB");
  const int64_t M = a.integer(2, "M"), N = a.integer(3, "N"), K = a.integer(4, "K");
  const double alpha = a.number(5, "alpha");
  const F32Arr A = a.f32(6, "a");
  const int64_t lda = a.integer(7, "lda"), strideA = a.integer(8, "strideA");
  const F32Arr B = a.f32(9, "b");
  const int64_t ldb = a.integer(10, "ldb"), strideB = a.integer(11, "strideB");
  const double beta = a.number(12, "beta");
  const F32Arr C = a.f32(13, "c");
  const int64_t ldc = a.integer(14, "ldc"), strideC = a.integer(15, "strideC");
  const int64_t batch = a.integer(16, "batch");
  if (!a.ok() || M == 0 || N == 0 || batch == 0) return nullptr;
  auto extent = [&](int64_t rows, int64_t cols, int64_t ld, int64_t stride) {
    return sadd(sadd(smul(batch - 1, stride), smul(rows - 1, ld)), cols);
  };
  if (K > 0) {
    const int64_t ar = transA ? K : M, ac = transA ? M : K;
    const int64_t br = transB ? N : K, bc = transB ? K : N;
    if (lda < ac) a.fail("lda " + std::to_string(lda) + " is smaller than the row length " + std::to_string(ac));
    if (ldb < bc) a.fail("ldb " + std::to_string(ldb) + " is smaller than the row length " + std::to_string(bc));
    a.need(A, extent(ar, ac, lda, strideA), "a");
    a.need(B, extent(br, bc, ldb, strideB), "b");
  }
  if (ldc < N) a.fail("ldc " + std::to_string(ldc) + " is smaller than N " + std::to_string(N));
  a.need(C, extent(M, N, ldc, strideC), "c");
  return guarded(a, [&] {
    lethe::sgemm_batched(transA, transB, M, N, K, static_cast<float>(alpha), A.p, lda, strideA, B.p, ldb, strideB,
                         static_cast<float>(beta), C.p, ldc, strideC, batch);
  });
}

napi_value Unary(napi_env env, napi_callback_info info) {
  Args a(env, info, "unary", 4);
  const int op = static_cast<int>(a.integer(0, "op", 0, lethe::kUnaryOpCount - 1));
  const F32Arr x = a.f32(1, "x");
  const F32Arr out = a.f32(2, "out");
  const double p = a.number(3, "p");
  a.need(out, x.n, "out");
  return guarded(a, [&] { lethe::unary(op, x.p, out.p, x.n, p); });
}

napi_value UnaryBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "unaryBackward", 6);
  const int op = static_cast<int>(a.integer(0, "op", 0, lethe::kUnaryOpCount - 1));
  const F32Arr x = a.f32(1, "x");
  const F32Arr y = a.f32(2, "y");
  const F32Arr gy = a.f32(3, "gy");
  const F32Arr gx = a.f32(4, "gx");
  const double p = a.number(5, "p");
  a.need(y, x.n, "y");
  a.need(gy, x.n, "gy");
  a.need(gx, x.n, "gx");
  return guarded(a, [&] { lethe::unary_backward(op, x.p, y.p, gy.p, gx.p, x.n, p); });
}

// Reads `count` integers from meta starting at `at`.
bool read_ints(Args& a, const double* meta, int64_t at, int count, int64_t* dst, const char* what, int64_t lo,
               int64_t hi) {
  for (int i = 0; i < count; i++) {
    dst[i] = a.check_int(meta[at + i], what, lo, hi);
    if (!a.ok()) return false;
  }
  return true;
}

napi_value Binary(napi_env env, napi_callback_info info) {
  Args a(env, info, "binary", 5);
  const int op = static_cast<int>(a.integer(0, "op", 0, lethe::kBinaryOpCount - 1));
  const F32Arr A = a.f32(1, "a");
  const F32Arr B = a.f32(2, "b");
  const F32Arr out = a.f32(3, "out");
  int64_t mlen = 0;
  const double* meta = a.f64(4, "meta", mlen);
  if (!a.ok()) return nullptr;
  if (mlen < 1) {
    a.fail("meta is empty");
    return nullptr;
  }
  const int64_t rank = a.check_int(meta[0], "rank", 0, lethe::kMaxRank);
  if (!a.ok()) return nullptr;
  if (mlen < 1 + 3 * rank) {
    a.fail("meta is too short for rank " + std::to_string(rank));
    return nullptr;
  }
  const int r = static_cast<int>(rank);
  int64_t shape[lethe::kMaxRank], as[lethe::kMaxRank], bs[lethe::kMaxRank];
  if (!read_ints(a, meta, 1, r, shape, "shape", 0, kMaxInt)) return nullptr;
  if (!read_ints(a, meta, 1 + r, r, as, "aStrides", -kMaxInt, kMaxInt)) return nullptr;
  if (!read_ints(a, meta, 1 + 2 * r, r, bs, "bStrides", -kMaxInt, kMaxInt)) return nullptr;
  int64_t total = 1;
  for (int d = 0; d < r; d++) total = smul(total, shape[d]);
  if (total == 0) return nullptr;
  a.need(out, total, "out");
  if (a.ok() && !strided_in_range(0, shape, as, r, A.n)) a.fail("a is too short for its shape and strides");
  if (a.ok() && !strided_in_range(0, shape, bs, r, B.n)) a.fail("b is too short for its shape and strides");
  return guarded(a, [&] { lethe::binary(op, A.p, as, B.p, bs, out.p, shape, r); });
}

napi_value Reduce(napi_env env, napi_callback_info info) {
  Args a(env, info, "reduce", 7);
  const int op = static_cast<int>(a.integer(0, "op", 0, lethe::kReduceOpCount - 1));
  const F32Arr x = a.f32(1, "x");
  const int64_t outer = a.integer(2, "outer"), n = a.integer(3, "n"), inner = a.integer(4, "inner");
  const F32Arr out = a.f32(5, "out");
  I32Arr am;
  const bool has_am = !a.is_null(6);
  if (has_am) am = a.i32(6, "argmax");
  const int64_t on = smul(outer, inner);
  a.need(x, smul(on, n), "x");
  a.need(out, on, "out");
  if (has_am && op == lethe::kMax) a.need(am, on, "argmax");
  return guarded(a, [&] {
    lethe::reduce(op, x.p, outer, n, inner, out.p, has_am && op == lethe::kMax ? am.p : nullptr);
  });
}

napi_value CopyStrided(napi_env env, napi_callback_info info) {
  Args a(env, info, "copyStrided", 3);
  const AnyArr src = a.f32_or_i32(0, "src");
  const AnyArr dst = a.f32_or_i32(1, "dst");
  int64_t mlen = 0;
  const double* meta = a.f64(2, "meta", mlen);
  if (!a.ok()) return nullptr;
  if (mlen < 3) {
    a.fail("meta is too short");
    return nullptr;
  }
  const int64_t rank = a.check_int(meta[0], "rank", 0, lethe::kMaxRank);
  const int64_t so = a.check_int(meta[1], "srcOffset", 0, kMaxInt);
  const int64_t dof = a.check_int(meta[2], "dstOffset", 0, kMaxInt);
  if (!a.ok()) return nullptr;
  if (mlen < 3 + 3 * rank) {
    a.fail("meta is too short for rank " + std::to_string(rank));
    return nullptr;
  }
  const int r = static_cast<int>(rank);
  int64_t shape[lethe::kMaxRank], ss[lethe::kMaxRank], ds[lethe::kMaxRank];
  if (!read_ints(a, meta, 3, r, shape, "shape", 0, kMaxInt)) return nullptr;
  if (!read_ints(a, meta, 3 + r, r, ss, "srcStrides", -kMaxInt, kMaxInt)) return nullptr;
  if (!read_ints(a, meta, 3 + 2 * r, r, ds, "dstStrides", -kMaxInt, kMaxInt)) return nullptr;
  for (int d = 0; d < r; d++)
    if (shape[d] == 0) return nullptr;
  if (!strided_in_range(so, shape, ss, r, src.n)) a.fail("src is too short for its offset, shape and strides");
  if (a.ok() && !strided_in_range(dof, shape, ds, r, dst.n)) {
    a.fail("dst is too short for its offset, shape and strides");
  }
  return guarded(a, [&] { lethe::copy_strided(src.p, src.kind, so, ss, dst.p, dst.kind, dof, ds, shape, r); });
}

napi_value Softmax(napi_env env, napi_callback_info info) {
  Args a(env, info, "softmax", 5);
  const F32Arr x = a.f32(0, "x");
  const F32Arr out = a.f32(1, "out");
  const int64_t rows = a.integer(2, "rows"), n = a.integer(3, "n");
  const bool log = a.boolean(4, "log");
  a.need(x, smul(rows, n), "x");
  a.need(out, smul(rows, n), "out");
  return guarded(a, [&] { lethe::softmax(x.p, out.p, rows, n, log); });
}

napi_value SoftmaxBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "softmaxBackward", 6);
  const F32Arr y = a.f32(0, "y");
  const F32Arr gy = a.f32(1, "gy");
  const F32Arr gx = a.f32(2, "gx");
  const int64_t rows = a.integer(3, "rows"), n = a.integer(4, "n");
  const bool log = a.boolean(5, "log");
  const int64_t total = smul(rows, n);
  a.need(y, total, "y");
  a.need(gy, total, "gy");
  a.need(gx, total, "gx");
  return guarded(a, [&] { lethe::softmax_backward(y.p, gy.p, gx.p, rows, n, log); });
}

napi_value LayerNorm(napi_env env, napi_callback_info info) {
  Args a(env, info, "layerNorm", 9);
  const F32Arr x = a.f32(0, "x");
  const F32Arr w = a.f32(1, "w");
  const F32Arr b = a.f32(2, "b");
  const F32Arr out = a.f32(3, "out");
  const F32Arr mean = a.f32(4, "mean");
  const F32Arr rstd = a.f32(5, "rstd");
  const int64_t rows = a.integer(6, "rows"), n = a.integer(7, "n");
  const double eps = a.number(8, "eps");
  const int64_t total = smul(rows, n);
  a.need(x, total, "x");
  a.need(out, total, "out");
  a.need(w, n, "w");
  a.need(b, n, "b");
  a.need(mean, rows, "mean");
  a.need(rstd, rows, "rstd");
  return guarded(a, [&] { lethe::layer_norm(x.p, w.p, b.p, out.p, mean.p, rstd.p, rows, n, eps); });
}

napi_value LayerNormBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "layerNormBackward", 10);
  const F32Arr x = a.f32(0, "x");
  const F32Arr w = a.f32(1, "w");
  const F32Arr mean = a.f32(2, "mean");
  const F32Arr rstd = a.f32(3, "rstd");
  const F32Arr gy = a.f32(4, "gy");
  const F32Arr gx = a.f32(5, "gx");
  const F32Arr gw = a.f32(6, "gw");
  const F32Arr gb = a.f32(7, "gb");
  const int64_t rows = a.integer(8, "rows"), n = a.integer(9, "n");
  const int64_t total = smul(rows, n);
  a.need(x, total, "x");
  a.need(gy, total, "gy");
  a.need(gx, total, "gx");
  a.need(w, n, "w");
  a.need(gw, n, "gw");
  a.need(gb, n, "gb");
  a.need(mean, rows, "mean");
  a.need(rstd, rows, "rstd");
  return guarded(a, [&] { lethe::layer_norm_backward(x.p, w.p, mean.p, rstd.p, gy.p, gx.p, gw.p, gb.p, rows, n); });
}

napi_value RmsNorm(napi_env env, napi_callback_info info) {
  Args a(env, info, "rmsNorm", 7);
  const F32Arr x = a.f32(0, "x");
  const F32Arr w = a.f32(1, "w");
  const F32Arr out = a.f32(2, "out");
  const F32Arr rstd = a.f32(3, "rstd");
  const int64_t rows = a.integer(4, "rows"), n = a.integer(5, "n");
  const double eps = a.number(6, "eps");
  const int64_t total = smul(rows, n);
  a.need(x, total, "x");
  a.need(out, total, "out");
  a.need(w, n, "w");
  a.need(rstd, rows, "rstd");
  return guarded(a, [&] { lethe::rms_norm(x.p, w.p, out.p, rstd.p, rows, n, eps); });
}

napi_value RmsNormBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "rmsNormBackward", 8);
  const F32Arr x = a.f32(0, "x");
  const F32Arr w = a.f32(1, "w");
  const F32Arr rstd = a.f32(2, "rstd");
  const F32Arr gy = a.f32(3, "gy");
  const F32Arr gx = a.f32(4, "gx");
  const F32Arr gw = a.f32(5, "gw");
  const int64_t rows = a.integer(6, "rows"), n = a.integer(7, "n");
  const int64_t total = smul(rows, n);
  a.need(x, total, "x");
  a.need(gy, total, "gy");
  a.need(gx, total, "gx");
  a.need(w, n, "w");
  a.need(gw, n, "gw");
  a.need(rstd, rows, "rstd");
  return guarded(a, [&] { lethe::rms_norm_backward(x.p, w.p, rstd.p, gy.p, gx.p, gw.p, rows, n); });
}

napi_value CrossEntropy(napi_env env, napi_callback_info info) {
  Args a(env, info, "crossEntropy", 7);
  const F32Arr logits = a.f32(0, "logits");
  const I32Arr targets = a.i32(1, "targets");
  const F32Arr losses = a.f32(2, "losses");
  const F32Arr lse = a.f32(3, "lse");
  const int64_t rows = a.integer(4, "rows"), v = a.integer(5, "v");
  const int64_t ignore = a.integer(6, "ignoreIndex", -kMaxInt, kMaxInt);
  a.need(logits, smul(rows, v), "logits");
  a.need(targets, rows, "targets");
  a.need(losses, rows, "losses");
  a.need(lse, rows, "lse");
  if (a.ok() && rows > 0 && v == 0) a.fail("v must be positive");
  if (a.ok() && !indices_in_range(a, targets.p, rows, v, "targets", true, ignore)) return nullptr;
  return guarded(a, [&] { lethe::cross_entropy(logits.p, targets.p, losses.p, lse.p, rows, v, ignore); });
}

napi_value CrossEntropyBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "crossEntropyBackward", 8);
  const F32Arr logits = a.f32(0, "logits");
  const I32Arr targets = a.i32(1, "targets");
  const F32Arr lse = a.f32(2, "lse");
  const F32Arr gloss = a.f32(3, "gLoss");
  const F32Arr gx = a.f32(4, "gx");
  const int64_t rows = a.integer(5, "rows"), v = a.integer(6, "v");
  const int64_t ignore = a.integer(7, "ignoreIndex", -kMaxInt, kMaxInt);
  a.need(logits, smul(rows, v), "logits");
  a.need(gx, smul(rows, v), "gx");
  a.need(targets, rows, "targets");
  a.need(lse, rows, "lse");
  a.need(gloss, rows, "gLoss");
  if (a.ok() && !indices_in_range(a, targets.p, rows, v, "targets", true, ignore)) return nullptr;
  return guarded(a, [&] {
    lethe::cross_entropy_backward(logits.p, targets.p, lse.p, gloss.p, gx.p, rows, v, ignore);
  });
}

napi_value Embedding(napi_env env, napi_callback_info info) {
  Args a(env, info, "embedding", 4);
  const F32Arr weight = a.f32(0, "weight");
  const I32Arr ids = a.i32(1, "ids");
  const F32Arr out = a.f32(2, "out");
  const int64_t d = a.integer(3, "d");
  a.need(out, smul(ids.n, d), "out");
  if (!a.ok() || d == 0) return nullptr;
  if (!indices_in_range(a, ids.p, ids.n, weight.n / d, "ids")) return nullptr;
  return guarded(a, [&] { lethe::embedding(weight.p, ids.p, ids.n, out.p, d); });
}

napi_value EmbeddingBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "embeddingBackward", 4);
  const I32Arr ids = a.i32(0, "ids");
  const F32Arr gy = a.f32(1, "gy");
  const F32Arr gw = a.f32(2, "gw");
  const int64_t d = a.integer(3, "d");
  a.need(gy, smul(ids.n, d), "gy");
  if (!a.ok() || d == 0) return nullptr;
  const int64_t vocab = gw.n / d;
  if (!indices_in_range(a, ids.p, ids.n, vocab, "ids")) return nullptr;
  return guarded(a, [&] { lethe::embedding_backward(ids.p, ids.n, gy.p, gw.p, vocab, d); });
}

napi_value Gather(napi_env env, napi_callback_info info) {
  Args a(env, info, "gather", 7);
  const F32Arr x = a.f32(0, "x");
  const I32Arr index = a.i32(1, "index");
  const F32Arr out = a.f32(2, "out");
  const int64_t outer = a.integer(3, "outer"), n = a.integer(4, "n"), m = a.integer(5, "m"),
                inner = a.integer(6, "inner");
  const int64_t cnt = smul(smul(outer, m), inner);
  a.need(x, smul(smul(outer, n), inner), "x");
  a.need(index, cnt, "index");
  a.need(out, cnt, "out");
  if (!a.ok() || !indices_in_range(a, index.p, cnt, n, "index")) return nullptr;
  return guarded(a, [&] { lethe::gather(x.p, index.p, out.p, outer, n, m, inner); });
}

napi_value GatherBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "gatherBackward", 7);
  const I32Arr index = a.i32(0, "index");
  const F32Arr gy = a.f32(1, "gy");
  const F32Arr gx = a.f32(2, "gx");
  const int64_t outer = a.integer(3, "outer"), n = a.integer(4, "n"), m = a.integer(5, "m"),
                inner = a.integer(6, "inner");
  const int64_t cnt = smul(smul(outer, m), inner);
  a.need(gx, smul(smul(outer, n), inner), "gx");
  a.need(index, cnt, "index");
  a.need(gy, cnt, "gy");
  if (!a.ok() || !indices_in_range(a, index.p, cnt, n, "index")) return nullptr;
  return guarded(a, [&] { lethe::gather_backward(index.p, gy.p, gx.p, outer, n, m, inner); });
}

napi_value Rope(napi_env env, napi_callback_info info) {
  Args a(env, info, "rope", 8);
  const F32Arr x = a.f32(0, "x");
  const F32Arr out = a.f32(1, "out");
  const int64_t bh = a.integer(2, "bh"), t = a.integer(3, "t"), d = a.integer(4, "d");
  const F32Arr cos = a.f32(5, "cos");
  const F32Arr sin = a.f32(6, "sin");
  const bool inverse = a.boolean(7, "inverse");
  const int64_t total = smul(smul(bh, t), d);
  a.need(x, total, "x");
  a.need(out, total, "out");
  a.need(cos, smul(t, d / 2), "cos");
  a.need(sin, smul(t, d / 2), "sin");
  return guarded(a, [&] { lethe::rope(x.p, out.p, bh, t, d, cos.p, sin.p, inverse); });
}

// B, H, Hkv, Tq, Tk, D, scale, keyStart (null/undefined or an Int32Array of B values in [0, Tk]) from `at` on.
bool attn_dims(Args& a, size_t at, lethe::AttnDims& d) {
  d.B = a.integer(at, "B");
  d.H = a.integer(at + 1, "H");
  d.Hkv = a.integer(at + 2, "Hkv");
  d.Tq = a.integer(at + 3, "Tq");
  d.Tk = a.integer(at + 4, "Tk");
  d.D = a.integer(at + 5, "D");
  d.scale = static_cast<float>(a.number(at + 6, "scale"));
  if (!a.ok()) return false;
  if (d.Hkv == 0 ? d.H != 0 : d.H % d.Hkv != 0) {
    a.fail("H (" + std::to_string(d.H) + ") must be a multiple of Hkv (" + std::to_string(d.Hkv) + ")");
    return false;
  }
  d.key_start = nullptr;
  if (!a.is_null(at + 7)) {
    const I32Arr ks = a.i32(at + 7, "keyStart");
    a.need(ks, d.B, "keyStart");
    if (!a.ok()) return false;
    for (int64_t b = 0; b < d.B; b++) {
      if (ks.p[b] < 0 || ks.p[b] > d.Tk) {
        a.fail("keyStart[" + std::to_string(b) + "] = " + std::to_string(ks.p[b]) + " is out of range [0, " +
               std::to_string(d.Tk) + "]");
        return false;
      }
    }
    d.key_start = ks.p;
  }
  return true;
}

napi_value Attention(napi_env env, napi_callback_info info) {
  Args a(env, info, "attention", 12);
  const F32Arr q = a.f32(0, "q");
  const F32Arr k = a.f32(1, "k");
  const F32Arr v = a.f32(2, "v");
  const F32Arr out = a.f32(3, "out");
  const F32Arr lse = a.f32(4, "lse");
  lethe::AttnDims d{};
  if (!attn_dims(a, 5, d)) return nullptr;
  const int64_t nq = smul(smul(smul(d.B, d.H), d.Tq), d.D), nkv = smul(smul(smul(d.B, d.Hkv), d.Tk), d.D);
  a.need(q, nq, "q");
  a.need(out, nq, "out");
  a.need(k, nkv, "k");
  a.need(v, nkv, "v");
  a.need(lse, smul(smul(d.B, d.H), d.Tq), "lse");
  if (!a.ok() || d.H == 0) return nullptr;
  return guarded(a, [&] { lethe::attention(q.p, k.p, v.p, out.p, lse.p, d); });
}

napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Args a(env, info, "attentionBackward", 16);
  const F32Arr q = a.f32(0, "q");
  const F32Arr k = a.f32(1, "k");
  const F32Arr v = a.f32(2, "v");
  const F32Arr out = a.f32(3, "out");
  const F32Arr lse = a.f32(4, "lse");
  const F32Arr gout = a.f32(5, "gout");
  const F32Arr gq = a.f32(6, "gq");
  const F32Arr gk = a.f32(7, "gk");
  const F32Arr gv = a.f32(8, "gv");
  lethe::AttnDims d{};
  if (!attn_dims(a, 9, d)) return nullptr;
  const int64_t nq = smul(smul(smul(d.B, d.H), d.Tq), d.D), nkv = smul(smul(smul(d.B, d.Hkv), d.Tk), d.D);
  a.need(q, nq, "q");
  a.need(out, nq, "out");
  a.need(gout, nq, "gout");
  a.need(gq, nq, "gq");
  a.need(k, nkv, "k");
  a.need(v, nkv, "v");
  a.need(gk, nkv, "gk");
  a.need(gv, nkv, "gv");
  a.need(lse, smul(smul(d.B, d.H), d.Tq), "lse");
  if (!a.ok() || d.H == 0) return nullptr;
  return guarded(a, [&] {
    lethe::attention_backward(q.p, k.p, v.p, out.p, lse.p, gout.p, gq.p, gk.p, gv.p, d);
  });
}

napi_value AdamW(napi_env env, napi_callback_info info) {
  Args a(env, info, "adamw", 11);
  const F32Arr param = a.f32(0, "param");
  const F32Arr grad = a.f32(1, "grad");
  const F32Arr m = a.f32(2, "m");
  const F32Arr v = a.f32(3, "v");
  lethe::AdamWParams p{};
  p.lr = a.number(4, "lr");
  p.beta1 = a.number(5, "beta1");
  p.beta2 = a.number(6, "beta2");
  p.eps = a.number(7, "eps");
  p.weight_decay = a.number(8, "weightDecay");
  p.bc1 = a.number(9, "bc1");
  p.bc2 = a.number(10, "bc2");
  a.need(grad, param.n, "grad");
  a.need(m, param.n, "m");
  a.need(v, param.n, "v");
  return guarded(a, [&] { lethe::adamw(param.p, grad.p, m.p, v.p, param.n, p); });
}

napi_value Axpy(napi_env env, napi_callback_info info) {
  Args a(env, info, "axpy", 3);
  const double alpha = a.number(0, "alpha");
  const F32Arr x = a.f32(1, "x");
  const F32Arr y = a.f32(2, "y");
  a.need(y, x.n, "y");
  return guarded(a, [&] { lethe::axpy(alpha, x.p, y.p, x.n); });
}

napi_value SumSquares(napi_env env, napi_callback_info info) {
  Args a(env, info, "sumSquares", 1);
  const F32Arr x = a.f32(0, "x");
  double s = 0;
  guarded(a, [&] { s = lethe::sum_squares(x.p, x.n); });
  if (!a.ok()) return nullptr;
  napi_value r;
  napi_create_double(env, s, &r);
  return r;
}

napi_value HasNonFinite(napi_env env, napi_callback_info info) {
  Args a(env, info, "hasNonFinite", 1);
  const F32Arr x = a.f32(0, "x");
  bool found = false;
  guarded(a, [&] { found = lethe::has_non_finite(x.p, x.n); });
  if (!a.ok()) return nullptr;
  napi_value r;
  napi_get_boolean(env, found, &r);
  return r;
}

Napi::Object MakeInfo(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("threads", Napi::Number::New(env, lethe::pool_size()));
  o.Set("gemmKernel", Napi::String::New(env, lethe::gemm_kernel_name()));
  o.Set("simd", Napi::String::New(env, lethe::simd_level()));
  return o;
}

Napi::Value Info(const Napi::CallbackInfo& info) { return MakeInfo(info.Env()); }

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "setThreads: n must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 1 && n <= kMaxThreads && n == std::floor(n))) {
    Napi::RangeError::New(env, "setThreads: n must be an integer in [1, " + std::to_string(kMaxThreads) + "]")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  lethe::pool_init(static_cast<int>(n));
  return Napi::Number::New(env, lethe::pool_size());
}

int default_threads() {
  if (const char* s = std::getenv("LETHE_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(s, &end, 10);
    if (end != s && *end == '\0' && v > 0) return static_cast<int>(v > kMaxThreads ? kMaxThreads : v);
  }
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc > static_cast<unsigned>(kMaxThreads) ? kMaxThreads : hc);
}

void Export(Napi::Env env, Napi::Object exports, const char* name, napi_callback cb) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn) == napi_ok) {
    exports.Set(name, Napi::Value(env, fn));
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  lethe::pool_init(default_threads());
  Export(env, exports, "gemm", Gemm);
  Export(env, exports, "unary", Unary);
  Export(env, exports, "unaryBackward", UnaryBackward);
  Export(env, exports, "binary", Binary);
  Export(env, exports, "reduce", Reduce);
  Export(env, exports, "copyStrided", CopyStrided);
  Export(env, exports, "softmax", Softmax);
  Export(env, exports, "softmaxBackward", SoftmaxBackward);
  Export(env, exports, "layerNorm", LayerNorm);
  Export(env, exports, "layerNormBackward", LayerNormBackward);
  Export(env, exports, "rmsNorm", RmsNorm);
  Export(env, exports, "rmsNormBackward", RmsNormBackward);
  Export(env, exports, "crossEntropy", CrossEntropy);
  Export(env, exports, "crossEntropyBackward", CrossEntropyBackward);
  Export(env, exports, "embedding", Embedding);
  Export(env, exports, "embeddingBackward", EmbeddingBackward);
  Export(env, exports, "gather", Gather);
  Export(env, exports, "gatherBackward", GatherBackward);
  Export(env, exports, "rope", Rope);
  Export(env, exports, "attention", Attention);
  Export(env, exports, "attentionBackward", AttentionBackward);
  Export(env, exports, "adamw", AdamW);
  Export(env, exports, "axpy", Axpy);
  Export(env, exports, "sumSquares", SumSquares);
  Export(env, exports, "hasNonFinite", HasNonFinite);
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  return exports;
}

}  // namespace

NODE_API_MODULE(lethe, Init)
