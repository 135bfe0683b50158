// SPDX-License-Identifier: GPL-2.0
/*
 * Ring buffer: reserve/submit, reserve/discard, output, and the positions
 * bpf_ringbuf_query reports. Each record takes its size plus the 8-byte
 * header, rounded up to 8; a discarded record keeps its space until the
 * consumer passes it; a record that would leave no byte free is refused
 * (new producer position - consumer position must not exceed size - 1).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

__u8 chunk[1000];

// TEST prog=rb_basic retval=0
SEC("syscall")
int rb_basic(void *ctx)
{
	__u64 *e, v = 0x1122334455667788;
	char *d;

	if (bpf_ringbuf_query(&rb, BPF_RB_RING_SIZE) != 4096)
		return 1;
	if (bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) != 0)
		return 2;
	e = bpf_ringbuf_reserve(&rb, 16, 0);
	if (!e)
		return 3;
	e[0] = 1;
	e[1] = 2;
	bpf_ringbuf_submit(e, 0);
	if (bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) != 24)
		return 4;
	if (bpf_ringbuf_query(&rb, BPF_RB_PROD_POS) != 24)
		return 5;
	if (bpf_ringbuf_query(&rb, BPF_RB_CONS_POS) != 0)
		return 6;
	d = bpf_ringbuf_reserve(&rb, 10, 0);
	if (!d)
		return 7;
	d[0] = 'x';
	bpf_ringbuf_discard(d, 0);
	if (bpf_ringbuf_query(&rb, BPF_RB_PROD_POS) != 48)
		return 8;
	if (bpf_ringbuf_output(&rb, &v, 5, 0) != 0)
		return 9;
	if (bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) != 64)
		return 10;
	if (bpf_ringbuf_query(&rb, BPF_RB_PROD_POS) != 64)
		return 11;
	return 0;
}

/* More than the ring holds: NULL, and nothing moves. */
// TEST prog=rb_too_big retval=0
SEC("syscall")
int rb_too_big(void *ctx)
{
	void *p = bpf_ringbuf_reserve(&rb, 8192, 0);

	if (p) {
		bpf_ringbuf_discard(p, 0);
		return 1;
	}
	if (bpf_ringbuf_query(&rb, BPF_RB_PROD_POS) != 0)
		return 2;
	return 0;
}

/* 1000-byte records take 1008 bytes: four fit, the fifth gets -EAGAIN. */
// TEST prog=rb_fill retval=411
SEC("syscall")
int rb_fill(void *ctx)
{
	long err = 0;
	int n = 0;

	chunk[0] = 1;
	for (int i = 0; i < 8; i++) {
		err = bpf_ringbuf_output(&rb, chunk, sizeof(chunk), 0);
		if (err)
			break;
		n++;
	}
	if (bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) != 4032)
		return -1;
	return n * 100 - err;
}

/* Reserved but not yet submitted records already count as produced. */
// TEST prog=rb_pending retval=0
SEC("syscall")
int rb_pending(void *ctx)
{
	__u32 *a = bpf_ringbuf_reserve(&rb, 4, 0);
	__u32 *b;

	if (!a)
		return 1;
	b = bpf_ringbuf_reserve(&rb, 4, 0);
	if (!b) {
		bpf_ringbuf_discard(a, 0);
		return 2;
	}
	*a = 1;
	*b = 2;
	if (bpf_ringbuf_query(&rb, BPF_RB_PROD_POS) != 32) {
		bpf_ringbuf_submit(a, 0);
		bpf_ringbuf_submit(b, 0);
		return 3;
	}
	bpf_ringbuf_submit(b, BPF_RB_NO_WAKEUP);
	bpf_ringbuf_submit(a, BPF_RB_FORCE_WAKEUP);
	return 0;
}
