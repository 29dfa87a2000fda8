/* Minimal Cortex-M4 start-up for QEMU's mps2-an386: vector table, zeroed .bss, semihosting I/O, exit(main()). */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __bss_start__, __bss_end__, __stack_top;
extern int main(void);
extern void initialise_monitor_handles(void); /* newlib rdimon: stdio over semihosting */

void Reset_Handler(void) {
  for (uint32_t* p = &__bss_start__; p < &__bss_end__; ++p) *p = 0;
  initialise_monitor_handles();
  exit(main()); /* semihosting SYS_EXIT: main's return code becomes QEMU's exit status */
}

static void Fault_Handler(void) { exit(99); } /* a crash ends the run with a recognisable status */

__attribute__((section(".vectors"), used)) static const void* const vectors[16] = {
    &__stack_top, Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler};
