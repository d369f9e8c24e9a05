// Gemm: row-major C[m, n] = A[m, k] . W[n, k]^T + beta * C through cuBLASLt, f32
// accumulation (bf16 or f32 inputs; f32 inputs use full f32 unless GemmArgs::tf32). Plans (layouts
// and the fastest of the heuristic's candidates, timed once on first use) are cached per shape. One
// thread at a time.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "engine/common/result.h"
#include "kernels/device_buffer.h"
#include "kernels/ops.h"

namespace agentrt::kernels {

struct GemmArgs {
  Dtype in = Dtype::bf16;   // A and W
  Dtype out = Dtype::f32;   // C
  const void* a = nullptr;  // [m, lda]
  const void* w = nullptr;  // [n, k], contiguous
  void* c = nullptr;        // [m, ldc]
  int m = 0, n = 0, k = 0;
  int lda = 0, ldc = 0;  // 0: k and n
  float beta = 0.0f;
  // f32 inputs only: products on TF32 tensor cores (inputs rounded to 10 mantissa bits,
  // f32 accumulation), several times the f32 rate.
  bool tf32 = false;
  // Strided batch: `batch` products, the i-th on a + i * stride_a, w + i * stride_w and
  // c + i * stride_c (elements).
  int batch = 1;
  std::int64_t stride_a = 0, stride_w = 0, stride_c = 0;
  // beta != 0 only: a buffer of C's shape that choosing a kernel may overwrite, so that the
  // candidates can be timed (running them on C would add the product more than once).
  // Without it the first candidate is taken untimed.
  void* scratch = nullptr;
};

class Gemm {
 public:
  // Errors: cuBLASLt could not start or the workspace could not be allocated.
  static Result<std::unique_ptr<Gemm>> create();
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // Enqueues the product on `stream`. Errors: no algorithm for the shape, or a cuBLASLt
  // failure. m == 0 does nothing. Unless set_skinny(false), products of one in the batch
  // that skinny_gemm_fits() takes (bf16, m = 1) run on the skinny kernel, and those that
  // small_m_gemm_fits() takes (bf16, m = 2-32) where small_m_splits() picks it.
  Status run(const GemmArgs& args, cudaStream_t stream);
  // Which kernel takes a product small_m_gemm_fits() admits (one in the batch): -1 cuBLASLt,
  // else the small-M kernel with that many k splits (0: its own choice). Decided once per
  // shape by timing each split count against cuBLASLt's tuned plan on the real operands
  // (products with beta != 0 and no scratch take the small-M kernel untimed). -1 as
  // well for any other product, or with set_skinny(false).
  Result<int> small_m_splits(const GemmArgs& args, cudaStream_t stream);
  // As small_m_splits(), for the gate|up product (n = 2 inter, C in the input dtype) followed
  // by SwiGLU into `act` ([m, inter]): the small-M kernel's SwiGLU form
  // (launch_small_m_swiglu) against cuBLASLt's product plus launch_swiglu().
  Result<int> small_m_swiglu_splits(const GemmArgs& gate_up, void* act, cudaStream_t stream);
  void set_skinny(bool on) { skinny_ = on; }
  bool skinny() const { return skinny_; }

 private:
  Gemm() = default;
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    Plan() = default;
    Plan(const Plan&) = delete;
    Plan& operator=(const Plan&) = delete;
    ~Plan();
  };
  using Key = std::tuple<int, int, int, int, int, int, int, bool, bool, int, std::int64_t,
                         std::int64_t, std::int64_t>;
  static Key key_of(const GemmArgs& args);
  // `args` with C replaced by its scratch buffer where beta != 0: what timing may run.
  static GemmArgs timing_args(const GemmArgs& args);
  Result<Plan*> plan_for(const GemmArgs& args, cudaStream_t stream);
  Result<int> small_m_choice(const GemmArgs& args, void* act, cudaStream_t stream);
  Result<int> time_small_m(const GemmArgs& args, void* act, cudaStream_t stream);
  // Index of the fastest of `found` candidates on the real operands.
  Result<int> fastest(const Plan& plan, const GemmArgs& args,
                      const cublasLtMatmulHeuristicResult_t* results, int found,
                      cudaStream_t stream);

  cublasLtHandle_t handle_ = nullptr;
  DeviceBuffer workspace_;
  std::map<Key, std::unique_ptr<Plan>> plans_;
  std::map<Key, int> small_m_;         // small_m_splits() by shape
  std::map<Key, int> small_m_swiglu_;  // small_m_swiglu_splits() by shape
  bool skinny_ = true;
};

}  // namespace agentrt::kernels
