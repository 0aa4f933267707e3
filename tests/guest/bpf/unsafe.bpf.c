/* Reads far past the end of any hook's context: the verifier must refuse. */
#include "hu_test_bpf.h"

SEC("hyperupcall/trace.exit") int unsafe(void* ctx) { return *(u64*)((char*)ctx + 4096); }
