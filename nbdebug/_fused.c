/* One pass over a contiguous float array: sum and sum of squares (in double), the zero count, min
 * and max; then, when every value was finite, the histogram of an even sample of it.
 *
 * Compiled on first use by nbdebug/fused.py with the system C compiler and loaded with ctypes.
 * Plain C with no Python API, so it builds with any compiler; on x86-64 Linux, GCC and Clang also
 * emit AVX2 and AVX-512 clones picked at load time (the baseline SSE2 build is 2-3x slower).
 *
 * out = [sum, squares, zeros, min, max, counts[0..bins), dead units or -1]. A NaN or Inf anywhere
 * makes sum or squares non-finite; the caller checks that first, and min/max/counts/dead units are
 * then meaningless (counts are left at zero). Min and max are taken over the bit patterns mapped to integers that
 * sort like the floats: compilers vectorise integer min/max, not the NaN-aware float ones.
 *
 * nbd_squares_* is the sum of squares alone (a gradient's norm): without the other four numbers
 * the pass runs about 1.6x faster.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
/* reassociation lets the sums vectorise; no finite-math: a NaN must stay a NaN in the sum */
#pragma GCC optimize("O3", "associative-math", "no-signed-zeros", "no-trapping-math", "no-math-errno")
#endif

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(NBD_NO_CLONES)
#define NBD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NBD_CLONES
#endif

#if defined(__clang__)
#define NBD_REASSOCIATE _Pragma("clang fp reassociate(on)")
#else
#define NBD_REASSOCIATE
#endif

#define BLOCK 4096 /* values per int32 zero counter: cheaper than counting into int64 */

/* The body of the pass for value i: moments, the zero count z and the min/max keys. */
#define ACCUMULATE(i, INT, SHIFT, LOW)                                                           \
    {                                                                                            \
        double x = (double)v[i];                                                                 \
        total += x;                                                                              \
        squares += x * x;                                                                        \
        z += (v[i] == 0);                                                                        \
        INT k = bits[i] ^ ((bits[i] >> SHIFT) & LOW);                                            \
        lo = k < lo ? k : lo;                                                                    \
        hi = k > hi ? k : hi;                                                                    \
    }

#define MAX_BINS 512 /* nbdebug's own limit (trace(bins=...)); more bins take the plain loop */
#define BIN(x) ((ptrdiff_t)(((double)(x) - lo) * scale)) /* >= 0: lo is the min */
#define CLAMP(i) ((i) < bins ? (i) : bins - 1)

/* counts[b] += how many sampled values fall in bin b: `blocks` runs of `block_len` values, `step`
 * apart. Four integer count arrays, one per lane: consecutive values landing in the same bin no
 * longer wait on each other's increment (the single double array ran at ~1.7 ns per value). */
#define HISTOGRAM(NAME, FLOAT)                                                                   \
    static void NAME(const FLOAT *v, ptrdiff_t blocks, ptrdiff_t block_len, ptrdiff_t step,      \
                     ptrdiff_t bins, double lo, double scale, double *counts) {                  \
        if (bins > MAX_BINS) {                                                                   \
            for (ptrdiff_t b = 0; b < blocks; b++)                                               \
                for (ptrdiff_t j = 0; j < block_len; j++) counts[CLAMP(BIN(v[b * step + j]))] += 1.0; \
            return;                                                                              \
        }                                                                                        \
        uint32_t c[4][MAX_BINS];                                                                 \
        for (int lane = 0; lane < 4; lane++) memset(c[lane], 0, sizeof(uint32_t) * (size_t)bins); \
        for (ptrdiff_t b = 0; b < blocks; b++) {                                                 \
            const FLOAT *run = v + b * step;                                                     \
            ptrdiff_t j = 0;                                                                     \
            for (; j + 4 <= block_len; j += 4) {                                                 \
                ptrdiff_t i0 = BIN(run[j]), i1 = BIN(run[j + 1]);                                \
                ptrdiff_t i2 = BIN(run[j + 2]), i3 = BIN(run[j + 3]);                            \
                c[0][CLAMP(i0)]++;                                                               \
                c[1][CLAMP(i1)]++;                                                               \
                c[2][CLAMP(i2)]++;                                                               \
                c[3][CLAMP(i3)]++;                                                               \
            }                                                                                    \
            for (; j < block_len; j++) c[0][CLAMP(BIN(run[j]))]++;                               \
        }                                                                                        \
        for (ptrdiff_t k = 0; k < bins; k++)                                                     \
            counts[k] += (double)c[0][k] + (double)c[1][k] + (double)c[2][k] + (double)c[3][k];  \
    }

HISTOGRAM(nbd_summary_f32_histogram, float)
HISTOGRAM(nbd_summary_f64_histogram, double)

/* With units > 0, v is read as rows of `units` values (the batch dimension first) and the same
 * pass also takes each unit's max over the rows, in `unit_max` (units values): out[5 + bins] is
 * then the number of units never positive, the dead-unit signal of a ReLU output. With `groups`
 * > 0 (it divides units: a feature map's channels, each a run of H*W units) it counts the groups
 * whose every unit is never positive instead: a filter that fires anywhere is alive. */
#define SUMMARY(NAME, FLOAT, INT, SHIFT, LOW)                                                    \
    NBD_CLONES void NAME(const FLOAT *v, ptrdiff_t n, ptrdiff_t blocks, ptrdiff_t block_len,     \
                         ptrdiff_t step, ptrdiff_t bins, ptrdiff_t units, ptrdiff_t groups,      \
                         FLOAT *unit_max, double *out) {                                         \
        NBD_REASSOCIATE                                                                          \
        typedef INT __attribute__((may_alias)) alias_t;                                          \
        const alias_t *bits = (const alias_t *)v;                                                \
        double total = 0.0, squares = 0.0;                                                       \
        int64_t zeros = 0;                                                                       \
        INT lo = bits[0] ^ ((bits[0] >> SHIFT) & LOW), hi = lo;                                  \
        if (units > 0) {                                                                         \
            for (ptrdiff_t u = 0; u < units; u++) unit_max[u] = v[u];                            \
            for (ptrdiff_t base = 0; base + units <= n; base += units) {                         \
                for (ptrdiff_t s = 0; s < units; s += BLOCK) {                                   \
                    ptrdiff_t e = s + BLOCK < units ? s + BLOCK : units;                         \
                    int32_t z = 0;                                                               \
                    for (ptrdiff_t u = s; u < e; u++) {                                          \
                        ACCUMULATE(base + u, INT, SHIFT, LOW)                                    \
                        FLOAT y = v[base + u];                                                   \
                        unit_max[u] = y > unit_max[u] ? y : unit_max[u];                         \
                    }                                                                            \
                    zeros += z;                                                                  \
                }                                                                                \
            }                                                                                    \
        } else {                                                                                 \
            for (ptrdiff_t s = 0; s < n; s += BLOCK) {                                           \
                ptrdiff_t e = s + BLOCK < n ? s + BLOCK : n;                                     \
                int32_t z = 0;                                                                   \
                for (ptrdiff_t i = s; i < e; i++) ACCUMULATE(i, INT, SHIFT, LOW)                 \
                zeros += z;                                                                      \
            }                                                                                    \
        }                                                                                        \
        lo ^= (lo >> SHIFT) & LOW; /* the mapping is its own inverse */                          \
        hi ^= (hi >> SHIFT) & LOW;                                                               \
        FLOAT flo, fhi;                                                                          \
        memcpy(&flo, &lo, sizeof flo);                                                           \
        memcpy(&fhi, &hi, sizeof fhi);                                                           \
        out[0] = total;                                                                          \
        out[1] = squares;                                                                        \
        out[2] = (double)zeros;                                                                  \
        out[3] = (double)flo;                                                                    \
        out[4] = (double)fhi;                                                                    \
        for (ptrdiff_t b = 0; b < bins; b++) out[5 + b] = 0.0;                                   \
        out[5 + bins] = -1.0;                                                                    \
        if (units > 0) {                                                                         \
            ptrdiff_t dead = 0, per = groups > 0 && units % groups == 0 ? units / groups : 1;    \
            for (ptrdiff_t g = 0; g < units; g += per) {                                         \
                int alive = 0;                                                                   \
                for (ptrdiff_t u = g; u < g + per; u++) alive |= (unit_max[u] > 0);              \
                dead += !alive;                                                                  \
            }                                                                                    \
            out[5 + bins] = (double)dead;                                                        \
        }                                                                                        \
        if (bins <= 0 || !isfinite(total) || !isfinite(squares)) return;                         \
        double dlo = (double)flo, dhi = (double)fhi;                                             \
        if (!(dhi > dlo)) { /* a constant: everything in the first bin */                        \
            out[5] = (double)(blocks * block_len);                                               \
            return;                                                                              \
        }                                                                                        \
        double scale = (double)bins / (dhi - dlo);                                               \
        NAME##_histogram(v, blocks, block_len, step, bins, dlo, scale, out + 5);                 \
    }

SUMMARY(nbd_summary_f32, float, int32_t, 31, INT32_MAX)
SUMMARY(nbd_summary_f64, double, int64_t, 63, INT64_MAX)

/* out[0] = the sum of squares in double (NaN and Inf propagate). */
#define SQUARES(NAME, FLOAT)                                                                     \
    NBD_CLONES void NAME(const FLOAT *v, ptrdiff_t n, double *out) {                             \
        NBD_REASSOCIATE                                                                          \
        double squares = 0.0;                                                                    \
        for (ptrdiff_t i = 0; i < n; i++) {                                                      \
            double x = (double)v[i];                                                             \
            squares += x * x;                                                                    \
        }                                                                                        \
        out[0] = squares;                                                                        \
    }

SQUARES(nbd_squares_f32, float)
SQUARES(nbd_squares_f64, double)
