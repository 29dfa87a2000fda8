/* int8 reference kernels with TensorFlow Lite Micro's fixed-point arithmetic (generated bundle, plain C99).
 * Each kernel mirrors the TFLM reference kernel of the same name bit for bit: same int32 accumulation, same
 * MultiplyByQuantizedMultiplier (double rounding), same gemmlowp fixed-point exp/reciprocal in softmax.
 * Shapes are 4-D NHWC (leading 1s added) unless stated. */
#ifndef EDGE_KERNELS_H
#define EDGE_KERNELS_H
#include <stdint.h>

void k_pad(const int8_t* in, const int32_t in_shape[4], const int32_t before[4], const int32_t out_shape[4],
           int8_t value, int8_t* out);
void k_conv2d(const int8_t* in, const int32_t in_shape[4], const int8_t* w, const int32_t w_shape[4],
              const int32_t* bias, int8_t* out, const int32_t out_shape[4], int32_t stride_h, int32_t stride_w,
              int32_t pad_h, int32_t pad_w, int32_t dil_h, int32_t dil_w, int32_t in_offset, int32_t out_offset,
              const int32_t* mult, const int32_t* shift, int32_t act_min, int32_t act_max);
void k_depthwise_conv2d(const int8_t* in, const int32_t in_shape[4], const int8_t* w, const int32_t w_shape[4],
                        const int32_t* bias, int8_t* out, const int32_t out_shape[4], int32_t stride_h,
                        int32_t stride_w, int32_t pad_h, int32_t pad_w, int32_t dil_h, int32_t dil_w,
                        int32_t depth_multiplier, int32_t in_offset, int32_t out_offset, const int32_t* mult,
                        const int32_t* shift, int32_t act_min, int32_t act_max);
void k_fully_connected(const int8_t* in, int32_t rows, int32_t depth, const int8_t* w, int32_t out_depth,
                       const int32_t* bias, int8_t* out, int32_t in_offset, int32_t w_offset, int32_t out_offset,
                       const int32_t* mult, const int32_t* shift, int32_t per_channel, int32_t act_min, int32_t act_max);
void k_add(const int8_t* a, int32_t na, const int8_t* b, int32_t nb, int8_t* out, int32_t n, int32_t a_offset,
           int32_t b_offset, int32_t left_shift, int32_t a_mult, int32_t a_shift, int32_t b_mult, int32_t b_shift,
           int32_t out_mult, int32_t out_shift, int32_t out_offset, int32_t act_min, int32_t act_max);
void k_mul(const int8_t* a, int32_t na, const int8_t* b, int32_t nb, int8_t* out, int32_t n, int32_t a_offset,
           int32_t b_offset, int32_t out_offset, int32_t mult, int32_t shift, int32_t act_min, int32_t act_max);
void k_batch_matmul(const int8_t* lhs, const int8_t* rhs, int8_t* out, int32_t batches, int32_t m, int32_t k,
                    int32_t n, int32_t adj_x, int32_t adj_y, int32_t lhs_offset, int32_t rhs_offset,
                    int32_t out_offset, int32_t mult, int32_t shift, int32_t act_min, int32_t act_max);
void k_softmax(const int8_t* in, int8_t* out, int32_t rows, int32_t depth, int32_t input_multiplier,
               int32_t input_left_shift, int32_t diff_min);
void k_mean(const int8_t* in, const int32_t in_shape[4], const int32_t reduce[4], int8_t* out, int32_t n_out,
            int32_t in_zp, int32_t out_zp, int32_t mult, int32_t shift, int32_t same_params, int32_t* scratch);
void k_transpose(const int8_t* in, const int32_t in_shape[4], const int32_t perm[4], int8_t* out);
void k_copy(const int8_t* in, int8_t* out, int32_t n);
#endif
