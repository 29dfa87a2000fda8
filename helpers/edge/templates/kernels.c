/* int8 kernels with TFLM's reference arithmetic; see kernels.h. Why each detail matters is said where it is. */
#include "kernels.h"

#include <limits.h>
#include <string.h>

/* ---- fixed-point helpers: gemmlowp / tensorflow/lite/kernels/internal/common.h ---- */
static int32_t srdhm(int32_t a, int32_t b) { /* SaturatingRoundingDoublingHighMul */
  if (a == b && a == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
  return (int32_t)((ab + nudge) / (1LL << 31)); /* C division truncates toward zero, as gemmlowp relies on */
}
static int32_t rdbpot(int32_t x, int32_t exponent) { /* RoundingDivideByPOT: round half away from zero */
  int32_t mask = (int32_t)((1LL << exponent) - 1);
  int32_t remainder = x & mask;
  int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}
static int32_t mbqm(int32_t x, int32_t mult, int32_t shift) { /* MultiplyByQuantizedMultiplier (double rounding) */
  int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  return rdbpot(srdhm((int32_t)((uint32_t)x << left), mult), right);
}
static int32_t clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
static int32_t sat_shl(int32_t x, int32_t e) { /* SaturatingRoundingMultiplyByPOT<e>, e > 0 */
  int32_t threshold = (int32_t)((1LL << (31 - e)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << e);
}

void k_copy(const int8_t* in, int8_t* out, int32_t n) { memmove(out, in, (size_t)n); }

void k_pad(const int8_t* in, const int32_t s[4], const int32_t before[4], const int32_t o[4], int8_t value,
           int8_t* out) {
  memset(out, value, (size_t)(o[0] * o[1] * o[2] * o[3]));
  for (int32_t a = 0; a < s[0]; ++a)
    for (int32_t b = 0; b < s[1]; ++b)
      for (int32_t c = 0; c < s[2]; ++c) {
        const int8_t* src = in + ((a * s[1] + b) * s[2] + c) * s[3];
        int8_t* dst = out + (((a + before[0]) * o[1] + b + before[1]) * o[2] + c + before[2]) * o[3] + before[3];
        memcpy(dst, src, (size_t)s[3]);
      }
}

void k_conv2d(const int8_t* in, const int32_t is[4], const int8_t* w, const int32_t ws[4], const int32_t* bias,
              int8_t* out, const int32_t os[4], int32_t sh, int32_t sw, int32_t ph, int32_t pw, int32_t dh,
              int32_t dw, int32_t in_offset, int32_t out_offset, const int32_t* mult, const int32_t* shift,
              int32_t act_min, int32_t act_max) {
  const int32_t ic = is[3], kh = ws[1], kw = ws[2];
  for (int32_t b = 0; b < os[0]; ++b)
    for (int32_t oy = 0; oy < os[1]; ++oy)
      for (int32_t ox = 0; ox < os[2]; ++ox)
        for (int32_t oc = 0; oc < os[3]; ++oc) {
          int32_t acc = 0;
          for (int32_t fy = 0; fy < kh; ++fy) {
            int32_t iy = oy * sh - ph + dh * fy;
            if (iy < 0 || iy >= is[1]) continue; /* outside: contributes zero (input == zero point) */
            for (int32_t fx = 0; fx < kw; ++fx) {
              int32_t ix = ox * sw - pw + dw * fx;
              if (ix < 0 || ix >= is[2]) continue;
              const int8_t* x = in + ((b * is[1] + iy) * is[2] + ix) * ic;
              const int8_t* f = w + ((oc * kh + fy) * kw + fx) * ic;
              for (int32_t c = 0; c < ic; ++c) acc += (int32_t)f[c] * ((int32_t)x[c] + in_offset);
            }
          }
          if (bias) acc += bias[oc];
          acc = mbqm(acc, mult[oc], shift[oc]) + out_offset;
          out[((b * os[1] + oy) * os[2] + ox) * os[3] + oc] = (int8_t)clamp(acc, act_min, act_max);
        }
}

void k_depthwise_conv2d(const int8_t* in, const int32_t is[4], const int8_t* w, const int32_t ws[4],
                        const int32_t* bias, int8_t* out, const int32_t os[4], int32_t sh, int32_t sw, int32_t ph,
                        int32_t pw, int32_t dh, int32_t dw, int32_t dm, int32_t in_offset, int32_t out_offset,
                        const int32_t* mult, const int32_t* shift, int32_t act_min, int32_t act_max) {
  const int32_t ic = is[3], kh = ws[1], kw = ws[2], oc_n = ws[3];
  for (int32_t b = 0; b < os[0]; ++b)
    for (int32_t oy = 0; oy < os[1]; ++oy)
      for (int32_t ox = 0; ox < os[2]; ++ox)
        for (int32_t c = 0; c < ic; ++c)
          for (int32_t m = 0; m < dm; ++m) {
            const int32_t oc = c * dm + m;
            int32_t acc = 0;
            for (int32_t fy = 0; fy < kh; ++fy) {
              int32_t iy = oy * sh - ph + dh * fy;
              if (iy < 0 || iy >= is[1]) continue;
              for (int32_t fx = 0; fx < kw; ++fx) {
                int32_t ix = ox * sw - pw + dw * fx;
                if (ix < 0 || ix >= is[2]) continue;
                int32_t x = in[((b * is[1] + iy) * is[2] + ix) * ic + c];
                int32_t f = w[(fy * kw + fx) * oc_n + oc];
                acc += f * (x + in_offset);
              }
            }
            if (bias) acc += bias[oc];
            acc = mbqm(acc, mult[oc], shift[oc]) + out_offset;
            out[((b * os[1] + oy) * os[2] + ox) * os[3] + oc] = (int8_t)clamp(acc, act_min, act_max);
          }
}

void k_fully_connected(const int8_t* in, int32_t rows, int32_t depth, const int8_t* w, int32_t od,
                       const int32_t* bias, int8_t* out, int32_t in_offset, int32_t w_offset, int32_t out_offset,
                       const int32_t* mult, const int32_t* shift, int32_t per_channel, int32_t act_min, int32_t act_max) {
  for (int32_t r = 0; r < rows; ++r)
    for (int32_t o = 0; o < od; ++o) {
      int32_t acc = 0;
      for (int32_t d = 0; d < depth; ++d) acc += ((int32_t)w[o * depth + d] + w_offset) * ((int32_t)in[r * depth + d] + in_offset);
      if (bias) acc += bias[o];
      int32_t ch = per_channel ? o : 0;
      acc = mbqm(acc, mult[ch], shift[ch]) + out_offset;
      out[r * od + o] = (int8_t)clamp(acc, act_min, act_max);
    }
}

void k_add(const int8_t* a, int32_t na, const int8_t* b, int32_t nb, int8_t* out, int32_t n, int32_t a_offset,
           int32_t b_offset, int32_t left_shift, int32_t a_mult, int32_t a_shift, int32_t b_mult, int32_t b_shift,
           int32_t out_mult, int32_t out_shift, int32_t out_offset, int32_t act_min, int32_t act_max) {
  for (int32_t i = 0; i < n; ++i) { /* na, nb: n (elementwise) or 1 (scalar broadcast) */
    int32_t x = (int32_t)a[na == 1 ? 0 : i] + a_offset, y = (int32_t)b[nb == 1 ? 0 : i] + b_offset;
    int32_t sx = mbqm(x * (1 << left_shift), a_mult, a_shift), sy = mbqm(y * (1 << left_shift), b_mult, b_shift);
    out[i] = (int8_t)clamp(mbqm(sx + sy, out_mult, out_shift) + out_offset, act_min, act_max);
  }
}

void k_mul(const int8_t* a, int32_t na, const int8_t* b, int32_t nb, int8_t* out, int32_t n, int32_t a_offset,
           int32_t b_offset, int32_t out_offset, int32_t mult, int32_t shift, int32_t act_min, int32_t act_max) {
  for (int32_t i = 0; i < n; ++i) {
    int32_t x = (int32_t)a[na == 1 ? 0 : i] + a_offset, y = (int32_t)b[nb == 1 ? 0 : i] + b_offset;
    out[i] = (int8_t)clamp(out_offset + mbqm(x * y, mult, shift), act_min, act_max);
  }
}

void k_batch_matmul(const int8_t* lhs, const int8_t* rhs, int8_t* out, int32_t batches, int32_t m, int32_t k,
                    int32_t n, int32_t adj_x, int32_t adj_y, int32_t lhs_offset, int32_t rhs_offset,
                    int32_t out_offset, int32_t mult, int32_t shift, int32_t act_min, int32_t act_max) {
  for (int32_t bt = 0; bt < batches; ++bt) {
    const int8_t* l = lhs + bt * m * k;
    const int8_t* r = rhs + bt * k * n;
    for (int32_t i = 0; i < m; ++i)
      for (int32_t j = 0; j < n; ++j) {
        int32_t acc = 0;
        for (int32_t t = 0; t < k; ++t) {
          int32_t lv = adj_x ? l[t * m + i] : l[i * k + t];
          int32_t rv = adj_y ? r[j * k + t] : r[t * n + j];
          acc += (lv + lhs_offset) * (rv + rhs_offset);
        }
        out[(bt * m + i) * n + j] = (int8_t)clamp(mbqm(acc, mult, shift) + out_offset, act_min, act_max);
      }
  }
}

/* ---- softmax: reference_ops::Softmax<int8,int8> with gemmlowp FixedPoint (int32 raw values) ---- */
/* exp(x) for x in [-1/4, 0): FixedPoint<0> in and out */
static int32_t exp_quarter(int32_t a) {
  const int32_t constant_term = 1895147668, one_third = 715827883;
  int32_t x = a + (1 << 28); /* + 1/8 */
  int32_t x2 = srdhm(x, x), x3 = srdhm(x2, x), x4 = srdhm(x2, x2);
  int32_t x4_over_4 = rdbpot(x4, 2);
  int32_t poly = rdbpot(srdhm(x4_over_4 + x3, one_third) + x2, 1);
  return constant_term + srdhm(constant_term, x + poly);
}
/* exp(a) for a <= 0: a is FixedPoint<5> (26 fractional bits), result FixedPoint<0> */
static int32_t exp_neg(int32_t a) {
  const int32_t one_quarter = 1 << 24, mask = one_quarter - 1;
  int32_t a_mod = (a & mask) - one_quarter;
  int32_t result = exp_quarter(sat_shl(a_mod, 5)); /* Rescale<0> from 5 integer bits */
  int32_t remainder = a_mod - a;
  static const int32_t mults[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  for (int e = -2; e <= 4; ++e)
    if (remainder & (1 << (26 + e))) result = srdhm(result, mults[e + 2]);
  return a == 0 ? INT32_MAX : result;
}
/* 1 / (1 + x) for x in [0, 1): FixedPoint<0> in and out (Newton-Raphson, gemmlowp) */
static int32_t one_over_one_plus_x(int32_t a) {
  int64_t sum = (int64_t)a + INT32_MAX;
  int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2); /* RoundingHalfSum(a, One) */
  int32_t x = 1515870810 + srdhm(half_den, -1010580540);           /* 48/17 - 32/17 d, FixedPoint<2> */
  for (int i = 0; i < 3; ++i) {
    int32_t hdx = srdhm(half_den, x);
    int32_t one_minus = (1 << 29) - hdx;
    x = x + sat_shl(srdhm(x, one_minus), 2);
  }
  return sat_shl(x, 1);
}
static int32_t clz32(uint32_t v) {
  int32_t n = 0;
  if (v == 0) return 32;
  while (!(v & 0x80000000u)) { v <<= 1; ++n; }
  return n;
}

void k_softmax(const int8_t* in, int8_t* out, int32_t rows, int32_t depth, int32_t input_multiplier,
               int32_t input_left_shift, int32_t diff_min) {
  for (int32_t r = 0; r < rows; ++r) {
    const int8_t* x = in + r * depth;
    int8_t* y = out + r * depth;
    int32_t max_in = -128;
    for (int32_t c = 0; c < depth; ++c) max_in = x[c] > max_in ? x[c] : max_in;
    int32_t sum = 0; /* FixedPoint<12> */
    for (int32_t c = 0; c < depth; ++c) {
      int32_t diff = (int32_t)x[c] - max_in;
      if (diff >= diff_min) sum += rdbpot(exp_neg(srdhm(diff * (1 << input_left_shift), input_multiplier)), 12);
    }
    int32_t headroom = clz32((uint32_t)sum);
    int32_t num_bits_over_unit = 12 - headroom;
    int32_t shifted_sum_minus_one = (int32_t)(((uint32_t)sum << headroom) - (1u << 31));
    int32_t scale = one_over_one_plus_x(shifted_sum_minus_one);
    for (int32_t c = 0; c < depth; ++c) {
      int32_t diff = (int32_t)x[c] - max_in;
      if (diff >= diff_min) {
        int32_t e = exp_neg(srdhm(diff * (1 << input_left_shift), input_multiplier));
        int32_t v = rdbpot(srdhm(scale, e), num_bits_over_unit + 31 - 8) - 128;
        y[c] = (int8_t)clamp(v, -128, 127);
      } else {
        y[c] = -128;
      }
    }
  }
}

void k_mean(const int8_t* in, const int32_t s[4], const int32_t reduce[4], int8_t* out, int32_t n_out, int32_t in_zp,
            int32_t out_zp, int32_t mult, int32_t shift, int32_t same_params, int32_t* sums) {
  int32_t os[4], count = 1;
  for (int d = 0; d < 4; ++d) { os[d] = reduce[d] ? 1 : s[d]; count *= reduce[d] ? s[d] : 1; }
  for (int32_t i = 0; i < n_out; ++i) sums[i] = 0;
  for (int32_t a = 0; a < s[0]; ++a)
    for (int32_t b = 0; b < s[1]; ++b)
      for (int32_t c = 0; c < s[2]; ++c)
        for (int32_t d = 0; d < s[3]; ++d) {
          int32_t o = (((reduce[0] ? 0 : a) * os[1] + (reduce[1] ? 0 : b)) * os[2] + (reduce[2] ? 0 : c)) * os[3] +
                      (reduce[3] ? 0 : d);
          sums[o] += in[((a * s[1] + b) * s[2] + c) * s[3] + d];
        }
  if (same_params) { /* reference_ops::Mean on raw values: C integer division (truncation) */
    for (int32_t i = 0; i < n_out; ++i) out[i] = (int8_t)(sums[i] / count);
    return;
  }
  /* QuantizedMeanOrSum: fold 1/count into the multiplier */
  int32_t sh = 63 - (int32_t)__builtin_clzll((unsigned long long)count);
  if (sh > 32) sh = 32;
  if (sh > 31 + shift) sh = 31 + shift;
  int32_t m = (int32_t)(((int64_t)mult << sh) / count);
  int32_t s2 = shift - sh;
  for (int32_t i = 0; i < n_out; ++i)
    out[i] = (int8_t)clamp(mbqm(sums[i] - in_zp * count, m, s2) + out_zp, -128, 127);
}

void k_transpose(const int8_t* in, const int32_t s[4], const int32_t perm[4], int8_t* out) {
  int32_t stride[4] = {s[1] * s[2] * s[3], s[2] * s[3], s[3], 1}, os[4], idx = 0;
  for (int d = 0; d < 4; ++d) os[d] = s[perm[d]];
  for (int32_t a = 0; a < os[0]; ++a)
    for (int32_t b = 0; b < os[1]; ++b)
      for (int32_t c = 0; c < os[2]; ++c)
        for (int32_t d = 0; d < os[3]; ++d)
          out[idx++] = in[a * stride[perm[0]] + b * stride[perm[1]] + c * stride[perm[2]] + d * stride[perm[3]]];
}
