#include "engine/cpu/amx_matmul.h"

#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#define AGENTRT_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512dq,avx512vl")))

namespace agentrt::cpu {
namespace {

constexpr std::size_t kTile = 16;                   // rows and f32 columns of a tile
constexpr std::size_t kTileK = 32;                  // bf16 elements of k per tile row
constexpr std::size_t kAmxPanelBytes = 512 * 1024;  // packed B per panel: stays in L2

std::size_t round_up(std::size_t x, std::size_t to) {
  return (x + to - 1) / to * to;
}

struct TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};

// Every tile 16 rows x 64 bytes: 0-3 C (2 x 2), 4-5 A (two row blocks), 6-7 B (two column
// blocks).
AGENTRT_AMX void configure_tiles() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = kTile;
  }
  _tile_loadconfig(&cfg);
}

// Packs B rows [j0, j0 + cols) (cols a multiple of 16; rows past n1 zero) into blocks of 16
// columns x 32 k: block (nb, kb) holds pair p of row nb*16 + x at 32-bit slot p * 16 + x.
AGENTRT_AMX void pack_b(const std::uint16_t* b, std::size_t k, std::size_t j0, std::size_t n1,
                        std::size_t cols, std::size_t kpad, std::uint32_t* out) {
  const std::size_t kblocks = kpad / kTileK;
  for (std::size_t nb = 0; nb < cols / kTile; ++nb) {
    for (std::size_t kb = 0; kb < kblocks; ++kb) {
      std::uint32_t* blk = out + (nb * kblocks + kb) * kTile * kTile;
      const std::size_t t = kb * kTileK;
      const auto mask = static_cast<__mmask32>(k - t >= 32 ? ~0u : (1u << (k - t)) - 1);
      for (std::size_t x = 0; x < kTile; ++x) {
        const std::size_t row = j0 + nb * kTile + x;
        const __m512i v =
            row < n1 ? _mm512_maskz_loadu_epi16(mask, b + row * k + t) : _mm512_setzero_si512();
        // Scatter the 16 pairs of this row to column x of the block.
        alignas(64) std::uint32_t pairs[kTile];
        _mm512_store_si512(pairs, v);
        for (std::size_t p = 0; p < kTile; ++p)
          blk[p * kTile + x] = pairs[p];
      }
    }
  }
}

// Adds a 16 x 16 f32 tile to C rows [0, rows), columns [0, cols), with beta.
AGENTRT_AMX void store_block(const float* tile, float* c, std::size_t ldc, std::size_t rows,
                             std::size_t cols, float beta) {
  const auto mask = static_cast<__mmask16>(cols >= 16 ? 0xffffu : (1u << cols) - 1);
  for (std::size_t y = 0; y < rows; ++y) {
    __m512 v = _mm512_load_ps(tile + y * kTile);
    float* out = c + y * ldc;
    if (beta != 0.0f)
      v = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(mask, out), v);
    _mm512_mask_storeu_ps(out, mask, v);
  }
}

// C rows [i0, i0 + 32) x packed columns [jb * 16, jb * 16 + 32) over all of k.
AGENTRT_AMX void block_2x2(const std::uint16_t* a16, std::size_t lda, const std::uint32_t* bp,
                           std::size_t kblocks, float (*out)[kTile * kTile]) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const std::size_t stride = lda * sizeof(std::uint16_t);
  const std::uint32_t* b1 = bp + kblocks * kTile * kTile;
  for (std::size_t kb = 0; kb < kblocks; ++kb) {
    _tile_loadd(4, a16 + kb * kTileK, stride);
    _tile_loadd(5, a16 + kTile * lda + kb * kTileK, stride);
    _tile_loadd(6, bp + kb * kTile * kTile, 64);
    _tile_loadd(7, b1 + kb * kTile * kTile, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, out[0], 64);
  _tile_stored(1, out[1], 64);
  _tile_stored(2, out[2], 64);
  _tile_stored(3, out[3], 64);
}

}  // namespace

bool amx_supported() {
  static const bool ok = [] {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512dq"))
      return false;
    // AMX-TILE and AMX-BF16 from cpuid leaf 7 (EDX bits 24 and 22): clang 14's
    // __builtin_cpu_supports does not know them.
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    if (!(d & (1u << 24)) || !(d & (1u << 22))) return false;
    constexpr long kReqXcompPerm = 0x1023, kXtileData = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
  }();
  return ok;
}

std::size_t amx_lda(std::size_t k) {
  return round_up(std::max<std::size_t>(k, 1), kTileK);
}

std::size_t amx_rows(std::size_t m) {
  return round_up(std::max<std::size_t>(m, 1), 2 * kTile);
}

AGENTRT_AMX void amx_matmul(const std::uint16_t* a16, const std::uint16_t* b, std::size_t k,
                            float* c, std::size_t ldc, std::size_t m, std::size_t n0,
                            std::size_t n1, float beta) {
  if (m == 0 || n0 >= n1) return;
  const std::size_t lda = amx_lda(k), kblocks = lda / kTileK;
  const std::size_t panel = std::max<std::size_t>(
      2 * kTile, kAmxPanelBytes / (lda * sizeof(std::uint16_t)) / (2 * kTile) * (2 * kTile));
  thread_local std::vector<std::uint32_t> packed;
  packed.resize(std::min(panel, round_up(n1 - n0, 2 * kTile)) * lda / 2);
  alignas(64) float out[4][kTile * kTile];
  configure_tiles();
  for (std::size_t j0 = n0; j0 < n1; j0 += panel) {
    const std::size_t cols = std::min(panel, round_up(n1 - j0, 2 * kTile));
    pack_b(b, k, j0, n1, cols, lda, packed.data());
    for (std::size_t i0 = 0; i0 < m; i0 += 2 * kTile) {
      for (std::size_t jb = 0; jb < cols / kTile; jb += 2) {
        const std::size_t j = j0 + jb * kTile;
        if (j >= n1) break;
        block_2x2(a16 + i0 * lda, lda, packed.data() + jb * kblocks * kTile * kTile, kblocks, out);
        for (std::size_t q = 0; q < 4; ++q) {
          const std::size_t r0 = i0 + (q / 2) * kTile, c0 = j + (q % 2) * kTile;
          if (r0 >= m || c0 >= n1) continue;
          store_block(out[q], c + r0 * ldc + c0, ldc, std::min(kTile, m - r0),
                      std::min(kTile, n1 - c0), beta);
        }
      }
    }
  }
  _tile_release();
}

}  // namespace agentrt::cpu
