/* Runs model_run on every window of inputs.bin (int8, MODEL_INPUT_SIZE bytes each) and writes outputs.bin.
 * On the emulated Cortex-M4 the files are the host's, through semihosting (newlib's rdimon). */
#include <stdio.h>

#include "model.h"

int main(void) {
  static int8_t in[MODEL_INPUT_SIZE];
  int8_t out[MODEL_OUTPUT_SIZE];
  FILE* fi = fopen("inputs.bin", "rb");
  FILE* fo = fopen("outputs.bin", "wb");
  if (!fi || !fo) {
    printf("cannot open inputs.bin or outputs.bin\n");
    return 2;
  }
  int n = 0;
  while (fread(in, 1, MODEL_INPUT_SIZE, fi) == MODEL_INPUT_SIZE) {
    model_run(in, out);
    fwrite(out, 1, MODEL_OUTPUT_SIZE, fo);
    ++n;
  }
  fclose(fi);
  fclose(fo);
  printf("%d windows\n", n);
  return 0;
}
