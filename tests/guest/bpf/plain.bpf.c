/* No hook in the section name: the caller has to say which. */
#include "hu_test_bpf.h"

SEC("hyperupcall") int anyhook(void* ctx) { return ctx != 0; }
