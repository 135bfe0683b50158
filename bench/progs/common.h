/*
 * What every benchmark program includes. The programs DPDK also runs may
 * use no helpers, no maps and no loops: DPDK 22.11's validator rejects any
 * backward jump ("loops detected"), so their loops have constant trip
 * counts and are unrolled completely by the compiler (UNROLL).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "inputs.h"

#define UNROLL _Pragma("clang loop unroll(full)")

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#endif
