#include "kernels/gemm.h"

#include <functional>
#include <string>
#include <utility>

#include "kernels/skinny_gemm.h"
#include "kernels/small_m_gemm.h"

namespace agentrt::kernels {
namespace {

constexpr std::size_t kWorkspaceBytes = 32u << 20;
constexpr int kCandidates = 8;

cudaDataType_t cuda_type(Dtype d) {
  return d == Dtype::f32 ? CUDA_R_32F : CUDA_R_16BF;
}

// Index of the fastest of `count` candidates, each enqueued on `stream` by launch(i), which
// returns false when the candidate refuses (it is skipped); timed over 3 runs after one.
// -1 when every candidate refused.
Result<int> fastest_candidate(int count, const std::function<bool(int)>& launch,
                              cudaStream_t stream) {
  cudaEvent_t start = nullptr, stop = nullptr;
  AGENTRT_TRY(cuda_status(cudaEventCreate(&start), "gemm autotune"));
  AGENTRT_TRY(cuda_status(cudaEventCreate(&stop), "gemm autotune"));
  int best = -1;
  float best_ms = 0;
  Status status = ok_status();
  for (int i = 0; i < count && status.ok(); ++i) {
    if (!launch(i)) continue;
    cudaEventRecord(start, stream);
    for (int r = 0; r < 3; ++r)
      launch(i);
    cudaEventRecord(stop, stream);
    status = cuda_status(cudaEventSynchronize(stop), "gemm autotune");
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    if (status.ok() && (best < 0 || ms < best_ms)) {
      best = i;
      best_ms = ms;
    }
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  if (!status.ok()) return status.error();
  return best;
}

}  // namespace

Result<std::unique_ptr<Gemm>> Gemm::create() {
  std::unique_ptr<Gemm> g(new Gemm());
  AGENTRT_TRY(cublas_status(cublasLtCreate(&g->handle_), "cublasLtCreate"));
  AGENTRT_TRY(g->workspace_.allocate(kWorkspaceBytes));
  return g;
}

Gemm::Plan::~Plan() {
  if (a) cublasLtMatrixLayoutDestroy(a);
  if (b) cublasLtMatrixLayoutDestroy(b);
  if (c) cublasLtMatrixLayoutDestroy(c);
  if (desc) cublasLtMatmulDescDestroy(desc);
}

Gemm::~Gemm() {
  plans_.clear();
  if (handle_) cublasLtDestroy(handle_);
}

// Row-major C = A . W^T is column-major C^T = W^T(op T) . A^T: cuBLAS's "A" is W.
Result<Gemm::Plan*> Gemm::plan_for(const GemmArgs& g, cudaStream_t stream) {
  const int lda = g.lda ? g.lda : g.k, ldc = g.ldc ? g.ldc : g.n;
  const bool tf32 = g.tf32 && g.in == Dtype::f32;
  const Key key = key_of(g);
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second.get();
  auto plan = std::make_unique<Plan>();
  Plan& p = *plan;
  const std::string where =
      "gemm " + std::to_string(g.m) + "x" + std::to_string(g.n) + "x" + std::to_string(g.k) + ": ";
  auto check = [&](cublasStatus_t st, const char* what) {
    return cublas_status(st, (where + what).c_str());
  };
  AGENTRT_TRY(
      check(cublasLtMatmulDescCreate(
                &p.desc, tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F),
            "cublasLtMatmulDescCreate"));
  const cublasOperation_t trans = CUBLAS_OP_T, no = CUBLAS_OP_N;
  AGENTRT_TRY(check(
      cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof(trans)),
      "TRANSA"));
  AGENTRT_TRY(
      check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &no, sizeof(no)),
            "TRANSB"));
  AGENTRT_TRY(check(cublasLtMatrixLayoutCreate(&p.a, cuda_type(g.in), g.k, g.n, g.k), "layout W"));
  AGENTRT_TRY(check(cublasLtMatrixLayoutCreate(&p.b, cuda_type(g.in), g.k, g.m, lda), "layout A"));
  AGENTRT_TRY(check(cublasLtMatrixLayoutCreate(&p.c, cuda_type(g.out), g.n, g.m, ldc), "layout C"));
  if (g.batch > 1) {
    const std::int32_t count = g.batch;
    const std::pair<cublasLtMatrixLayout_t, std::int64_t> layouts[] = {
        {p.a, g.stride_w}, {p.b, g.stride_a}, {p.c, g.stride_c}};
    for (const auto& [layout, stride] : layouts) {
      AGENTRT_TRY(check(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                         &count, sizeof(count)),
                        "batch count"));
      AGENTRT_TRY(
          check(cublasLtMatrixLayoutSetAttribute(
                    layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
                "batch stride"));
    }
  }
  cublasLtMatmulPreference_t pref = nullptr;
  AGENTRT_TRY(check(cublasLtMatmulPreferenceCreate(&pref), "preference"));
  const std::uint64_t ws = workspace_.bytes();
  const cublasStatus_t set = cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  if (set != CUBLAS_STATUS_SUCCESS) cublasLtMatmulPreferenceDestroy(pref);
  AGENTRT_TRY(check(set, "workspace preference"));
  cublasLtMatmulHeuristicResult_t results[kCandidates]{};
  int found = 0;
  const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle_, p.desc, p.a, p.b, p.c, p.c,
                                                           pref, kCandidates, results, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  AGENTRT_TRY(check(st, "cublasLtMatmulAlgoGetHeuristic"));
  if (found == 0) return make_error(ErrorCode::unsupported, where + "no cuBLASLt algorithm");
  p.algo = results[0].algo;
  // The heuristic's first choice is often not the fastest for skinny (decode) shapes: time
  // the candidates once on the real operands, into C where reruns are harmless (beta = 0),
  // else into the scratch buffer.
  if (found > 1 && (g.beta == 0.0f || g.scratch)) {
    auto best = fastest(p, timing_args(g), results, found, stream);
    if (!best.ok()) return best.error();
    p.algo = results[*best].algo;
  }
  Plan* raw = plan.get();
  plans_.emplace(key, std::move(plan));
  return raw;
}

Result<int> Gemm::fastest(const Plan& p, const GemmArgs& g,
                          const cublasLtMatmulHeuristicResult_t* results, int found,
                          cudaStream_t stream) {
  const float alpha = 1.0f;
  auto best = fastest_candidate(
      found,
      [&](int i) {
        return cublasLtMatmul(handle_, p.desc, &alpha, g.w, p.a, g.a, p.b, &g.beta, g.c, p.c, g.c,
                              p.c, &results[i].algo, workspace_.get(), workspace_.bytes(),
                              stream) == CUBLAS_STATUS_SUCCESS;
      },
      stream);
  if (!best.ok()) return best.error();
  return *best < 0 ? 0 : *best;
}

GemmArgs Gemm::timing_args(const GemmArgs& g) {
  GemmArgs t = g;
  if (t.beta != 0.0f) t.c = t.scratch;
  return t;
}

Gemm::Key Gemm::key_of(const GemmArgs& g) {
  return {static_cast<int>(g.in),
          static_cast<int>(g.out),
          g.m,
          g.n,
          g.k,
          g.lda ? g.lda : g.k,
          g.ldc ? g.ldc : g.n,
          g.beta != 0.0f,
          g.tf32 && g.in == Dtype::f32,
          g.batch,
          g.stride_a,
          g.stride_w,
          g.stride_c};
}

Result<int> Gemm::small_m_splits(const GemmArgs& g, cudaStream_t stream) {
  return small_m_choice(g, nullptr, stream);
}

Result<int> Gemm::small_m_swiglu_splits(const GemmArgs& g, void* act, cudaStream_t stream) {
  if (g.n % 2 != 0 || g.out != g.in) return -1;
  return small_m_choice(g, act, stream);
}

Result<int> Gemm::small_m_choice(const GemmArgs& g, void* act, cudaStream_t stream) {
  const int lda = g.lda ? g.lda : g.k;
  if (!skinny_ || g.batch != 1 || !small_m_gemm_fits(g.in, g.m, g.k, lda, g.a, g.w)) return -1;
  if (g.beta != 0.0f && !g.scratch) return 0;
  auto& chosen = act ? small_m_swiglu_ : small_m_;
  const Key key = key_of(g);
  if (auto it = chosen.find(key); it != chosen.end()) return it->second;
  auto best = time_small_m(timing_args(g), act, stream);
  if (!best.ok()) return best.error();
  chosen.emplace(key, *best);
  return *best;
}

// Times cuBLASLt's tuned plan and the small-M kernel at 1, 2, 4 and 8 splits (as many as k's
// chunks allow) on the real operands (C a scratch buffer where beta != 0). With `act`, each
// candidate ends in the SwiGLU output: cuBLASLt's product then the SwiGLU kernel, against
// the small-M kernel's SwiGLU form.
Result<int> Gemm::time_small_m(const GemmArgs& g, void* act, cudaStream_t stream) {
  auto plan = plan_for(g, stream);
  if (!plan.ok()) return plan.error();
  const Plan& p = **plan;
  const int lda = g.lda ? g.lda : g.k, ldc = g.ldc ? g.ldc : g.n;
  const float alpha = 1.0f;
  int candidates = 1;  // cuBLASLt, then splits 1, 2, 4, 8
  while (candidates < 5 && (1 << (candidates - 1)) <= g.k / kSmallMChunk)
    ++candidates;
  auto best = fastest_candidate(
      candidates,
      [&](int i) {
        if (i == 0) {
          return cublasLtMatmul(handle_, p.desc, &alpha, g.w, p.a, g.a, p.b, &g.beta, g.c, p.c, g.c,
                                p.c, &p.algo, workspace_.get(), workspace_.bytes(),
                                stream) == CUBLAS_STATUS_SUCCESS &&
                 (!act || launch_swiglu(g.out, g.c, g.m, g.n / 2, act, stream) == cudaSuccess);
        }
        const int splits = 1 << (i - 1);
        const cudaError_t e =
            act ? launch_small_m_swiglu(g.a, lda, g.w, act, g.m, g.n / 2, g.k, stream, splits)
                : launch_small_m_gemm(g.out, g.a, lda, g.w, g.c, ldc, g.m, g.n, g.k, g.beta, stream,
                                      splits);
        if (e != cudaSuccess) cudaGetLastError();  // say, a cluster the device refuses
        return e == cudaSuccess;
      },
      stream);
  if (!best.ok()) return best.error();
  return *best <= 0 ? -1 : 1 << (*best - 1);
}

Status Gemm::run(const GemmArgs& g, cudaStream_t stream) {
  if (g.batch < 1) {
    return make_error(ErrorCode::invalid_argument,
                      "gemm: batch " + std::to_string(g.batch) + " (at least 1)");
  }
  if (g.m == 0) return ok_status();
  const int lda = g.lda ? g.lda : g.k, ldc = g.ldc ? g.ldc : g.n;
  if (skinny_ && g.batch == 1 && skinny_gemm_fits(g.in, g.m, g.k, lda, g.a, g.w)) {
    return cuda_status(
        launch_skinny_gemm(g.out, g.a, lda, g.w, g.c, ldc, g.m, g.n, g.k, g.beta, stream),
        "skinny gemm");
  }
  auto splits = small_m_splits(g, stream);
  if (!splits.ok()) return splits.error();
  if (*splits >= 0) {
    return cuda_status(
        launch_small_m_gemm(g.out, g.a, lda, g.w, g.c, ldc, g.m, g.n, g.k, g.beta, stream, *splits),
        "small-m gemm");
  }
  auto plan = plan_for(g, stream);
  if (!plan.ok()) return plan.error();
  const float alpha = 1.0f;
  const Plan& p = **plan;
  return cublas_status(
      cublasLtMatmul(handle_, p.desc, &alpha, g.w, p.a, g.a, p.b, &g.beta, g.c, p.c, g.c, p.c,
                     &p.algo, workspace_.get(), workspace_.bytes(), stream),
      "cublasLtMatmul");
}

}  // namespace agentrt::kernels
