/* Programs whose loads the verifier proves in bounds, so the JIT compiles
 * them without a check (internal.h: struct mem_proof); test_jit.c runs
 * them where the proof's assumptions do not hold and expects the
 * interpreter's checked behaviour. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct args {
	__u32 a;
	__u32 pad;
	__u64 c;
};

/* context loads at offsets 0 and 8: ctx_end 16 */
SEC("syscall")
int ctx_read(struct args *ctx)
{
	if (ctx->a == 7)
		return (int)(ctx->c >> 1);
	return (int)ctx->a;
}

/* packet loads between data and data_end */
SEC("tc")
int pkt_read(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	if (data + 4 > data_end)
		return 1;
	return *(__u32 *)data;
}
