// N-API surface of the native backend: one function per kernel of the ABI table in
// src/engine/backends/native-abi.ts, plus info(), abi() and setThreads(n).
//
// The table is the one list of kernels. tools/gen-native-abi.ts turns it into abi.gen.h: LETHE_KERNELS names the
// kernels, and LETHE_ARGS_<kernel> lists each one's arguments as A(kind, name, least length). From those this
// file makes, once for all kernels, an argument struct per kernel with its reader and its length checks, and the
// exports; what is left per kernel below (`Run`) is only what the table cannot say (gemm's extents, index
// values, packed shapes) and the call into kernels.h.
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
#include <initializer_list>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "abi.gen.h"
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

// A typed-array argument: its data and length in elements.
template <class T>
struct Arr {
  T* p = nullptr;
  int64_t n = 0;
};
using F32Arr = Arr<float>;
using I32Arr = Arr<int32_t>;
using F64Arr = Arr<const double>;
// An Int32Array or null.
struct I32Opt : I32Arr {
  bool given = false;
};
// A Float32Array or an Int32Array.
struct AnyArr : Arr<void> {
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

  // A typed array of exactly one kind.
  template <class A>
  A typed_as(size_t i, const char* what, napi_typedarray_type want) {
    A r;
    napi_typedarray_type t;
    void* data;
    size_t len;
    if (!typed(i, what, t, data, len)) return r;
    if (t != want) {
      const char* want_name = type_name(want);
      fail(std::string(what) + (want_name[0] == 'I' || want_name[0] == 'U' ? " must be an " : " must be a ") +
           want_name + ", got " + type_name(t));
      return r;
    }
    r.p = static_cast<decltype(r.p)>(data);
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

// ---- argument kinds of the ABI table: the C++ type of each, how it is read, how its length is checked ----
namespace kind {

// Scalars have no length to check.
struct Scalar {
  template <class T>
  static void need(Args&, const T&, int64_t, const char*) {}
};
struct BOOL : Scalar {
  using type = bool;
  static type read(Args& a, size_t i, const char* what) { return a.boolean(i, what); }
};
struct NUM : Scalar {
  using type = double;
  static type read(Args& a, size_t i, const char* what) { return a.number(i, what); }
};
struct INT : Scalar {
  using type = int64_t;
  static type read(Args& a, size_t i, const char* what) { return a.integer(i, what); }
};
struct SINT : Scalar {
  using type = int64_t;
  static type read(Args& a, size_t i, const char* what) { return a.integer(i, what, -kMaxInt, kMaxInt); }
};
// An op code: an index into one of the op lists.
template <int kCount>
struct Op : Scalar {
  using type = int;
  static type read(Args& a, size_t i, const char* what) { return static_cast<int>(a.integer(i, what, 0, kCount - 1)); }
};
using UNARY_OP = Op<lethe::kUnaryOpCount>;
using BINARY_OP = Op<lethe::kBinaryOpCount>;
using REDUCE_OP = Op<lethe::kReduceOpCount>;

struct Array {
  template <class A>
  static void need(Args& a, const A& arr, int64_t n, const char* what) { a.need(arr, n, what); }
};
template <class A, napi_typedarray_type kType>
struct Typed : Array {
  using type = A;
  static type read(Args& a, size_t i, const char* what) { return a.typed_as<A>(i, what, kType); }
};
using F32 = Typed<F32Arr, napi_float32_array>;
using I32 = Typed<I32Arr, napi_int32_array>;
// A Float64Array of small integers (shapes, strides, offsets) packed by the TS glue.
using F64 = Typed<F64Arr, napi_float64_array>;
struct F32_OR_I32 : Array {
  using type = AnyArr;
  static type read(Args& a, size_t i, const char* what) { return a.f32_or_i32(i, what); }
};
struct I32_OPT {
  using type = I32Opt;
  static type read(Args& a, size_t i, const char* what) {
    I32Opt r;
    if (a.is_null(i)) return r;
    static_cast<I32Arr&>(r) = I32::read(a, i, what);
    r.given = true;
    return r;
  }
  static void need(Args& a, const I32Opt& arr, int64_t n, const char* what) {
    if (arr.given) a.need(arr, n, what);
  }
};

}  // namespace kind

// One struct per kernel, `<kernel>_args`, with a field per argument, read() and check() (the table's lengths).
#define LETHE_FIELD(KIND, name, len) kind::KIND::type name{};
#define LETHE_READ(KIND, name, len) name = kind::KIND::read(reader_, at_++, #name);
#define LETHE_NEED(KIND, name, len) kind::KIND::need(reader_, name, len, #name);
#define LETHE_COUNT(KIND, name, len) +1
#define LETHE_ARGS_STRUCT(js)                                           \
  struct js##_args {                                                    \
    static constexpr const char* kName = #js;                           \
    static constexpr size_t kArgc = 0 LETHE_ARGS_##js(LETHE_COUNT);     \
    LETHE_ARGS_##js(LETHE_FIELD)                                        \
    void read(Args& reader_) {                                          \
      size_t at_ = 0;                                                   \
      LETHE_ARGS_##js(LETHE_READ)                                       \
    }                                                                   \
    void check(Args& reader_) const { LETHE_ARGS_##js(LETHE_NEED) }     \
  };
LETHE_KERNELS(LETHE_ARGS_STRUCT)
#undef LETHE_ARGS_STRUCT
#undef LETHE_COUNT
#undef LETHE_NEED
#undef LETHE_READ
#undef LETHE_FIELD

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

// Shapes and strides packed by the TS glue into one Float64Array:
// meta = [rank, ...head, ...shape, ...strides of the first operand, ...strides of the second].
struct Packed {
  int rank = 0;
  int64_t head[2] = {0, 0};
  int64_t shape[lethe::kMaxRank], s1[lethe::kMaxRank], s2[lethe::kMaxRank];
};

// Reads `count` integers in [lo, hi] from meta starting at `at`.
bool read_ints(Args& a, const double* meta, int64_t at, int count, int64_t* dst, const char* what, int64_t lo,
               int64_t hi) {
  for (int i = 0; i < count; i++) {
    dst[i] = a.check_int(meta[at + i], what, lo, hi);
    if (!a.ok()) return false;
  }
  return true;
}

// Unpacks meta (at least 1 + head.size() values long, which the caller checked) with the head values named
// `head` (offsets, in [0, 2^53]) and the strides named s1 and s2.
bool unpack(Args& a, const F64Arr& meta, std::initializer_list<const char*> head, const char* s1, const char* s2,
            Packed& p) {
  const int64_t rank = a.check_int(meta.p[0], "rank", 0, lethe::kMaxRank);
  int at = 1;
  for (const char* name : head) {
    p.head[at - 1] = a.check_int(meta.p[at], name, 0, kMaxInt);
    at++;
  }
  if (!a.ok()) return false;
  if (meta.n < at + 3 * rank) {
    a.fail("meta is too short for rank " + std::to_string(rank));
    return false;
  }
  const int r = p.rank = static_cast<int>(rank);
  return read_ints(a, meta.p, at, r, p.shape, "shape", 0, kMaxInt) &&
         read_ints(a, meta.p, at + r, r, p.s1, s1, -kMaxInt, kMaxInt) &&
         read_ints(a, meta.p, at + 2 * r, r, p.s2, s2, -kMaxInt, kMaxInt);
}

// ---- per kernel: the checks the table cannot state, and the call ----

napi_value Run(Args& a, const gemm_args& in) {
  const int64_t M = in.M, N = in.N, K = in.K, batch = in.batch;
  if (M == 0 || N == 0 || batch == 0) return nullptr;
  auto extent = [&](int64_t rows, int64_t cols, int64_t ld, int64_t stride) {
    return sadd(sadd(smul(batch - 1, stride), smul(rows - 1, ld)), cols);
  };
  if (K > 0) {
    const int64_t ar = in.transA ? K : M, ac = in.transA ? M : K;
    const int64_t br = in.transB ? N : K, bc = in.transB ? K : N;
    if (in.lda < ac) a.fail("lda " + std::to_string(in.lda) + " is smaller than the row length " + std::to_string(ac));
    if (in.ldb < bc) a.fail("ldb " + std::to_string(in.ldb) + " is smaller than the row length " + std::to_string(bc));
    a.need(in.a, extent(ar, ac, in.lda, in.strideA), "a");
    a.need(in.b, extent(br, bc, in.ldb, in.strideB), "b");
  }
  if (in.ldc < N) a.fail("ldc " + std::to_string(in.ldc) + " is smaller than N " + std::to_string(N));
  a.need(in.c, extent(M, N, in.ldc, in.strideC), "c");
  // An empty bias is none; a bias replaces C's old contents, so it goes with beta 0.
  const bool bias = in.bias.n > 0;
  if (bias) a.need(in.bias, N, "bias");
  if (bias && in.beta != 0) a.fail("a bias needs beta 0");
  return guarded(a, [&] {
    lethe::sgemm_batched(in.transA, in.transB, M, N, K, static_cast<float>(in.alpha), in.a.p, in.lda, in.strideA,
                         in.b.p, in.ldb, in.strideB, static_cast<float>(in.beta), in.c.p, in.ldc, in.strideC, batch,
                         bias ? in.bias.p : nullptr, in.bf16);
  });
}

napi_value Run(Args& a, const unary_args& in) {
  return guarded(a, [&] { lethe::unary(in.op, in.x.p, in.out.p, in.x.n, in.p); });
}

napi_value Run(Args& a, const unaryBackward_args& in) {
  return guarded(a, [&] { lethe::unary_backward(in.op, in.x.p, in.y.p, in.gy.p, in.gx.p, in.x.n, in.p); });
}

napi_value Run(Args& a, const binary_args& in) {
  if (in.meta.n < 1) {
    a.fail("meta is empty");
    return nullptr;
  }
  Packed m;
  if (!unpack(a, in.meta, {}, "aStrides", "bStrides", m)) return nullptr;
  int64_t total = 1;
  for (int d = 0; d < m.rank; d++) total = smul(total, m.shape[d]);
  if (total == 0) return nullptr;
  a.need(in.out, total, "out");
  if (a.ok() && !strided_in_range(0, m.shape, m.s1, m.rank, in.a.n)) a.fail("a is too short for its shape and strides");
  if (a.ok() && !strided_in_range(0, m.shape, m.s2, m.rank, in.b.n)) a.fail("b is too short for its shape and strides");
  return guarded(a, [&] { lethe::binary(in.op, in.a.p, m.s1, in.b.p, m.s2, in.out.p, m.shape, m.rank); });
}

napi_value Run(Args& a, const reduce_args& in) {
  const bool argmax = in.argmax.given && in.op == lethe::kMax;
  if (argmax) a.need(in.argmax, smul(in.outer, in.inner), "argmax");
  return guarded(a, [&] {
    lethe::reduce(in.op, in.x.p, in.outer, in.n, in.inner, in.out.p, argmax ? in.argmax.p : nullptr);
  });
}

napi_value Run(Args& a, const copyStrided_args& in) {
  if (in.meta.n < 3) {
    a.fail("meta is too short");
    return nullptr;
  }
  Packed m;
  if (!unpack(a, in.meta, {"srcOffset", "dstOffset"}, "srcStrides", "dstStrides", m)) return nullptr;
  const int64_t so = m.head[0], dof = m.head[1];
  for (int d = 0; d < m.rank; d++)
    if (m.shape[d] == 0) return nullptr;
  if (!strided_in_range(so, m.shape, m.s1, m.rank, in.src.n)) a.fail("src is too short for its offset, shape and strides");
  if (a.ok() && !strided_in_range(dof, m.shape, m.s2, m.rank, in.dst.n)) {
    a.fail("dst is too short for its offset, shape and strides");
  }
  return guarded(a, [&] {
    lethe::copy_strided(in.src.p, in.src.kind, so, m.s1, in.dst.p, in.dst.kind, dof, m.s2, m.shape, m.rank);
  });
}

napi_value Run(Args& a, const softmax_args& in) {
  return guarded(a, [&] { lethe::softmax(in.x.p, in.out.p, in.rows, in.n, in.log); });
}

napi_value Run(Args& a, const softmaxBackward_args& in) {
  return guarded(a, [&] { lethe::softmax_backward(in.y.p, in.gy.p, in.gx.p, in.rows, in.n, in.log); });
}

napi_value Run(Args& a, const layerNorm_args& in) {
  return guarded(a, [&] {
    lethe::layer_norm(in.x.p, in.w.p, in.b.p, in.out.p, in.mean.p, in.rstd.p, in.rows, in.n, in.eps);
  });
}

napi_value Run(Args& a, const layerNormBackward_args& in) {
  return guarded(a, [&] {
    lethe::layer_norm_backward(in.x.p, in.w.p, in.mean.p, in.rstd.p, in.gy.p, in.gx.p, in.gw.p, in.gb.p, in.rows,
                               in.n);
  });
}

napi_value Run(Args& a, const rmsNorm_args& in) {
  return guarded(a, [&] { lethe::rms_norm(in.x.p, in.w.p, in.out.p, in.rstd.p, in.rows, in.n, in.eps); });
}

napi_value Run(Args& a, const rmsNormBackward_args& in) {
  return guarded(a, [&] {
    lethe::rms_norm_backward(in.x.p, in.w.p, in.rstd.p, in.gy.p, in.gx.p, in.gw.p, in.rows, in.n);
  });
}

napi_value Run(Args& a, const crossEntropy_args& in) {
  if (in.rows > 0 && in.v == 0) a.fail("v must be positive");
  if (a.ok() && !indices_in_range(a, in.targets.p, in.rows, in.v, "targets", true, in.ignoreIndex)) return nullptr;
  return guarded(a, [&] {
    lethe::cross_entropy(in.logits.p, in.targets.p, in.losses.p, in.lse.p, in.rows, in.v, in.ignoreIndex);
  });
}

napi_value Run(Args& a, const crossEntropyBackward_args& in) {
  if (!indices_in_range(a, in.targets.p, in.rows, in.v, "targets", true, in.ignoreIndex)) return nullptr;
  return guarded(a, [&] {
    lethe::cross_entropy_backward(in.logits.p, in.targets.p, in.lse.p, in.gLoss.p, in.gx.p, in.rows, in.v,
                                  in.ignoreIndex);
  });
}

napi_value Run(Args& a, const embedding_args& in) {
  if (in.d == 0 || !indices_in_range(a, in.ids.p, in.ids.n, in.weight.n / in.d, "ids")) return nullptr;
  return guarded(a, [&] { lethe::embedding(in.weight.p, in.ids.p, in.ids.n, in.out.p, in.d); });
}

napi_value Run(Args& a, const embeddingBackward_args& in) {
  if (in.d == 0) return nullptr;
  const int64_t vocab = in.gw.n / in.d;
  if (!indices_in_range(a, in.ids.p, in.ids.n, vocab, "ids")) return nullptr;
  return guarded(a, [&] { lethe::embedding_backward(in.ids.p, in.ids.n, in.gy.p, in.gw.p, vocab, in.d); });
}

napi_value Run(Args& a, const gather_args& in) {
  const int64_t count = smul(smul(in.outer, in.m), in.inner);
  if (!indices_in_range(a, in.index.p, count, in.n, "index")) return nullptr;
  return guarded(a, [&] { lethe::gather(in.x.p, in.index.p, in.out.p, in.outer, in.n, in.m, in.inner); });
}

napi_value Run(Args& a, const gatherBackward_args& in) {
  const int64_t count = smul(smul(in.outer, in.m), in.inner);
  if (!indices_in_range(a, in.index.p, count, in.n, "index")) return nullptr;
  return guarded(a, [&] { lethe::gather_backward(in.index.p, in.gy.p, in.gx.p, in.outer, in.n, in.m, in.inner); });
}

napi_value Run(Args& a, const rope_args& in) {
  return guarded(a, [&] { lethe::rope(in.x.p, in.out.p, in.bh, in.t, in.d, in.cos.p, in.sin.p, in.inverse); });
}

// The dims of attention and its backward, after the checks the table cannot state: H a multiple of Hkv, and
// keyStart (if given) in [0, Tk].
template <class In>
bool attn_dims(Args& a, const In& in, lethe::AttnDims& d) {
  if (in.Hkv == 0 ? in.H != 0 : in.H % in.Hkv != 0) {
    a.fail("H (" + std::to_string(in.H) + ") must be a multiple of Hkv (" + std::to_string(in.Hkv) + ")");
    return false;
  }
  d = lethe::AttnDims{in.B, in.H, in.Hkv, in.Tq, in.Tk, in.D, static_cast<float>(in.scale), nullptr};
  if (!in.keyStart.given) return true;
  for (int64_t b = 0; b < in.B; b++) {
    if (in.keyStart.p[b] < 0 || in.keyStart.p[b] > in.Tk) {
      a.fail("keyStart[" + std::to_string(b) + "] = " + std::to_string(in.keyStart.p[b]) + " is out of range [0, " +
             std::to_string(in.Tk) + "]");
      return false;
    }
  }
  d.key_start = in.keyStart.p;
  return true;
}

napi_value Run(Args& a, const attention_args& in) {
  lethe::AttnDims d{};
  if (!attn_dims(a, in, d) || in.H == 0) return nullptr;
  return guarded(a, [&] { lethe::attention(in.q.p, in.k.p, in.v.p, in.out.p, in.lse.p, d); });
}

napi_value Run(Args& a, const attentionBackward_args& in) {
  lethe::AttnDims d{};
  if (!attn_dims(a, in, d) || in.H == 0) return nullptr;
  return guarded(a, [&] {
    lethe::attention_backward(in.q.p, in.k.p, in.v.p, in.out.p, in.lse.p, in.gout.p, in.gq.p, in.gk.p, in.gv.p, d);
  });
}

napi_value Run(Args& a, const adamw_args& in) {
  const lethe::AdamWParams p{in.lr, in.beta1, in.beta2, in.eps, in.weightDecay, in.bc1, in.bc2};
  return guarded(a, [&] { lethe::adamw(in.param.p, in.grad.p, in.m.p, in.v.p, in.param.n, p); });
}

napi_value Run(Args& a, const axpy_args& in) {
  return guarded(a, [&] { lethe::axpy(in.alpha, in.x.p, in.y.p, in.x.n); });
}

napi_value Run(Args& a, const sumSquares_args& in) {
  double s = 0;
  guarded(a, [&] { s = lethe::sum_squares(in.x.p, in.x.n); });
  if (!a.ok()) return nullptr;
  napi_value r;
  napi_create_double(a.env(), s, &r);
  return r;
}

napi_value Run(Args& a, const hasNonFinite_args& in) {
  bool found = false;
  guarded(a, [&] { found = lethe::has_non_finite(in.x.p, in.x.n); });
  if (!a.ok()) return nullptr;
  napi_value r;
  napi_get_boolean(a.env(), found, &r);
  return r;
}

// ---------------------------------------------------------------------------------------------------------

// The exported function of a kernel: reads and checks its arguments as the table says, then runs it.
template <class In>
napi_value Bind(napi_env env, napi_callback_info info) {
  Args a(env, info, In::kName, In::kArgc);
  In in;
  in.read(a);
  in.check(a);
  if (!a.ok()) return nullptr;
  return Run(a, in);
}

Napi::Object MakeInfo(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("threads", Napi::Number::New(env, lethe::pool_size()));
  o.Set("gemmKernel", Napi::String::New(env, lethe::gemm_kernel_name()));
  o.Set("gemmBf16Kernel", Napi::String::New(env, lethe::gemm_bf16_kernel_name()));
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

// Hands the free memory glibc's allocator keeps (in every thread's arena) back to the system. A worker thread's
// arena keeps what its isolate's buffers used after the worker has gone, so a process that ran heavy work in
// threads holds that memory as resident until this runs. Returns whether anything was released (false where the
// C library is not glibc).
Napi::Value TrimMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
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

// The kernels and op names this addon was built with, which the loader checks against the table.
Napi::Value Abi(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto list = [&](const char* const* names, size_t n) {
    Napi::Array arr = Napi::Array::New(env, n);
    for (size_t i = 0; i < n; i++) arr.Set(static_cast<uint32_t>(i), Napi::String::New(env, names[i]));
    return arr;
  };
#define LETHE_NAME(js) #js,
  static const char* const kKernelNames[] = {LETHE_KERNELS(LETHE_NAME)};
#undef LETHE_NAME
  Napi::Object o = Napi::Object::New(env);
  o.Set("kernels", list(kKernelNames, std::size(kKernelNames)));
  o.Set("unary", list(lethe::kUnaryOpNames, lethe::kUnaryOpCount));
  o.Set("binary", list(lethe::kBinaryOpNames, lethe::kBinaryOpCount));
  o.Set("reduce", list(lethe::kReduceOpNames, lethe::kReduceOpCount));
  return o;
}

void Export(Napi::Env env, Napi::Object exports, const char* name, napi_callback cb) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn) == napi_ok) {
    exports.Set(name, Napi::Value(env, fn));
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // The pool is the process's: the first load sizes it, and a load in a worker thread leaves it as it is (else
  // a worker starting would resize the pool under threads that are using it, undoing their setThreads).
  static std::once_flag sized;
  std::call_once(sized, [] { lethe::pool_init(default_threads()); });
#define LETHE_EXPORT(js) Export(env, exports, #js, Bind<js##_args>);
  LETHE_KERNELS(LETHE_EXPORT)
#undef LETHE_EXPORT
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("abi", Napi::Function::New(env, Abi, "abi"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("trimMemory", Napi::Function::New(env, TrimMemory, "trimMemory"));
  return exports;
}

}  // namespace

NODE_API_MODULE(lethe, Init)
