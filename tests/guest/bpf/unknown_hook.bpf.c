#include "hu_test_bpf.h"

SEC("hyperupcall/mem.recalim") int typo(void* ctx) { return ctx != 0; }
