#include "hu_test_bpf.h"

SEC("kprobe/do_sys_open") int probe(void* ctx) { return ctx != 0; }
