/*
 * Section names to program types, following libbpf's section_defs table:
 * the first entry that matches wins, so more specific names come first.
 * A prefix ending in '+' matches the exact name or the name followed by
 * '/' and anything ("kprobe" and "kprobe/do_sys_open"); one ending in '/'
 * needs something after the slash; any other must match exactly.
 *
 * prog_type_name() gives the kernel's (and bpftool's) names of the types.
 */
#include <string.h>

#include "loader/loader.h"

#define SD(prefix, type, attach) {prefix, BPF_PROG_TYPE_##type, attach}

static const struct ld_sec_def sec_defs[] = {
	SD("socket", SOCKET_FILTER, 0),
	SD("sk_reuseport/migrate", SK_REUSEPORT,
	   BPF_SK_REUSEPORT_SELECT_OR_MIGRATE),
	SD("sk_reuseport", SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT),
	SD("kprobe+", KPROBE, 0),
	SD("uprobe+", KPROBE, 0),
	SD("uprobe.s+", KPROBE, 0),
	SD("kretprobe+", KPROBE, 0),
	SD("uretprobe+", KPROBE, 0),
	SD("uretprobe.s+", KPROBE, 0),
	SD("kprobe.multi+", KPROBE, BPF_TRACE_KPROBE_MULTI),
	SD("kretprobe.multi+", KPROBE, BPF_TRACE_KPROBE_MULTI),
	SD("uprobe.multi+", KPROBE, LD_ATTACH_TRACE_UPROBE_MULTI),
	SD("uretprobe.multi+", KPROBE, LD_ATTACH_TRACE_UPROBE_MULTI),
	SD("uprobe.multi.s+", KPROBE, LD_ATTACH_TRACE_UPROBE_MULTI),
	SD("uretprobe.multi.s+", KPROBE, LD_ATTACH_TRACE_UPROBE_MULTI),
	SD("ksyscall+", KPROBE, 0),
	SD("kretsyscall+", KPROBE, 0),
	SD("usdt+", KPROBE, 0),
	SD("usdt.s+", KPROBE, 0),
	SD("tc/ingress", SCHED_CLS, LD_ATTACH_TCX_INGRESS),
	SD("tc/egress", SCHED_CLS, LD_ATTACH_TCX_EGRESS),
	SD("tcx/ingress", SCHED_CLS, LD_ATTACH_TCX_INGRESS),
	SD("tcx/egress", SCHED_CLS, LD_ATTACH_TCX_EGRESS),
	SD("tc", SCHED_CLS, 0),
	SD("classifier", SCHED_CLS, 0),
	SD("action", SCHED_ACT, 0),
	SD("netkit/primary", SCHED_CLS, LD_ATTACH_NETKIT_PRIMARY),
	SD("netkit/peer", SCHED_CLS, LD_ATTACH_NETKIT_PEER),
	SD("tracepoint+", TRACEPOINT, 0),
	SD("tp+", TRACEPOINT, 0),
	SD("raw_tracepoint+", RAW_TRACEPOINT, 0),
	SD("raw_tp+", RAW_TRACEPOINT, 0),
	SD("raw_tracepoint.w+", RAW_TRACEPOINT_WRITABLE, 0),
	SD("raw_tp.w+", RAW_TRACEPOINT_WRITABLE, 0),
	SD("tp_btf+", TRACING, BPF_TRACE_RAW_TP),
	SD("fentry+", TRACING, BPF_TRACE_FENTRY),
	SD("fmod_ret+", TRACING, BPF_MODIFY_RETURN),
	SD("fexit+", TRACING, BPF_TRACE_FEXIT),
	SD("fentry.s+", TRACING, BPF_TRACE_FENTRY),
	SD("fmod_ret.s+", TRACING, BPF_MODIFY_RETURN),
	SD("fexit.s+", TRACING, BPF_TRACE_FEXIT),
	SD("freplace+", EXT, 0),
	SD("lsm+", LSM, BPF_LSM_MAC),
	SD("lsm.s+", LSM, BPF_LSM_MAC),
	SD("lsm_cgroup+", LSM, LD_ATTACH_LSM_CGROUP),
	SD("iter+", TRACING, BPF_TRACE_ITER),
	SD("iter.s+", TRACING, BPF_TRACE_ITER),
	SD("syscall", SYSCALL, 0),
	SD("xdp.frags/devmap", XDP, BPF_XDP_DEVMAP),
	SD("xdp/devmap", XDP, BPF_XDP_DEVMAP),
	SD("xdp.frags/cpumap", XDP, BPF_XDP_CPUMAP),
	SD("xdp/cpumap", XDP, BPF_XDP_CPUMAP),
	SD("xdp.frags", XDP, BPF_XDP),
	SD("xdp", XDP, BPF_XDP),
	SD("perf_event", PERF_EVENT, 0),
	SD("lwt_in", LWT_IN, 0),
	SD("lwt_out", LWT_OUT, 0),
	SD("lwt_xmit", LWT_XMIT, 0),
	SD("lwt_seg6local", LWT_SEG6LOCAL, 0),
	SD("sockops", SOCK_OPS, BPF_CGROUP_SOCK_OPS),
	SD("sk_skb/stream_parser", SK_SKB, BPF_SK_SKB_STREAM_PARSER),
	SD("sk_skb/stream_verdict", SK_SKB, BPF_SK_SKB_STREAM_VERDICT),
	SD("sk_skb/verdict", SK_SKB, BPF_SK_SKB_VERDICT),
	SD("sk_skb", SK_SKB, 0),
	SD("sk_msg", SK_MSG, BPF_SK_MSG_VERDICT),
	SD("lirc_mode2", LIRC_MODE2, BPF_LIRC_MODE2),
	SD("flow_dissector", FLOW_DISSECTOR, BPF_FLOW_DISSECTOR),
	SD("cgroup_skb/ingress", CGROUP_SKB, BPF_CGROUP_INET_INGRESS),
	SD("cgroup_skb/egress", CGROUP_SKB, BPF_CGROUP_INET_EGRESS),
	SD("cgroup/skb", CGROUP_SKB, 0),
	SD("cgroup/sock_create", CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE),
	SD("cgroup/sock_release", CGROUP_SOCK, BPF_CGROUP_INET_SOCK_RELEASE),
	SD("cgroup/sock", CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE),
	SD("cgroup/post_bind4", CGROUP_SOCK, BPF_CGROUP_INET4_POST_BIND),
	SD("cgroup/post_bind6", CGROUP_SOCK, BPF_CGROUP_INET6_POST_BIND),
	SD("cgroup/bind4", CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND),
	SD("cgroup/bind6", CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND),
	SD("cgroup/connect4", CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT),
	SD("cgroup/connect6", CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT),
	SD("cgroup/connect_unix", CGROUP_SOCK_ADDR,
	   LD_ATTACH_CGROUP_UNIX_CONNECT),
	SD("cgroup/sendmsg4", CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG),
	SD("cgroup/sendmsg6", CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG),
	SD("cgroup/sendmsg_unix", CGROUP_SOCK_ADDR,
	   LD_ATTACH_CGROUP_UNIX_SENDMSG),
	SD("cgroup/recvmsg4", CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_RECVMSG),
	SD("cgroup/recvmsg6", CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_RECVMSG),
	SD("cgroup/recvmsg_unix", CGROUP_SOCK_ADDR,
	   LD_ATTACH_CGROUP_UNIX_RECVMSG),
	SD("cgroup/getpeername4", CGROUP_SOCK_ADDR,
	   BPF_CGROUP_INET4_GETPEERNAME),
	SD("cgroup/getpeername6", CGROUP_SOCK_ADDR,
	   BPF_CGROUP_INET6_GETPEERNAME),
	SD("cgroup/getpeername_unix", CGROUP_SOCK_ADDR,
	   LD_ATTACH_CGROUP_UNIX_GETPEERNAME),
	SD("cgroup/getsockname4", CGROUP_SOCK_ADDR,
	   BPF_CGROUP_INET4_GETSOCKNAME),
	SD("cgroup/getsockname6", CGROUP_SOCK_ADDR,
	   BPF_CGROUP_INET6_GETSOCKNAME),
	SD("cgroup/getsockname_unix", CGROUP_SOCK_ADDR,
	   LD_ATTACH_CGROUP_UNIX_GETSOCKNAME),
	SD("cgroup/sysctl", CGROUP_SYSCTL, BPF_CGROUP_SYSCTL),
	SD("cgroup/getsockopt", CGROUP_SOCKOPT, BPF_CGROUP_GETSOCKOPT),
	SD("cgroup/setsockopt", CGROUP_SOCKOPT, BPF_CGROUP_SETSOCKOPT),
	SD("cgroup/dev", CGROUP_DEVICE, BPF_CGROUP_DEVICE),
	SD("struct_ops+", STRUCT_OPS, 0),
	SD("struct_ops.s+", STRUCT_OPS, 0),
	SD("sk_lookup", SK_LOOKUP, BPF_SK_LOOKUP),
	{"netfilter", LD_PROG_TYPE_NETFILTER, LD_ATTACH_NETFILTER},
};

static bool sec_def_matches(const char *prefix, const char *name)
{
	size_t len = strlen(prefix);

	if (prefix[len - 1] == '/')
		return strncmp(name, prefix, len) == 0;
	if (prefix[len - 1] == '+') {
		len--;
		if (strncmp(name, prefix, len) != 0)
			return false;
		return name[len] == '\0' || name[len] == '/';
	}
	return strcmp(name, prefix) == 0;
}

const struct ld_sec_def *ld_sec_def_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(sec_defs); i++)
		if (sec_def_matches(sec_defs[i].prefix, name))
			return &sec_defs[i];
	return NULL;
}

static const char *const prog_type_names[] = {
	[BPF_PROG_TYPE_UNSPEC] = "unspec",
	[BPF_PROG_TYPE_SOCKET_FILTER] = "socket_filter",
	[BPF_PROG_TYPE_KPROBE] = "kprobe",
	[BPF_PROG_TYPE_SCHED_CLS] = "sched_cls",
	[BPF_PROG_TYPE_SCHED_ACT] = "sched_act",
	[BPF_PROG_TYPE_TRACEPOINT] = "tracepoint",
	[BPF_PROG_TYPE_XDP] = "xdp",
	[BPF_PROG_TYPE_PERF_EVENT] = "perf_event",
	[BPF_PROG_TYPE_CGROUP_SKB] = "cgroup_skb",
	[BPF_PROG_TYPE_CGROUP_SOCK] = "cgroup_sock",
	[BPF_PROG_TYPE_LWT_IN] = "lwt_in",
	[BPF_PROG_TYPE_LWT_OUT] = "lwt_out",
	[BPF_PROG_TYPE_LWT_XMIT] = "lwt_xmit",
	[BPF_PROG_TYPE_SOCK_OPS] = "sock_ops",
	[BPF_PROG_TYPE_SK_SKB] = "sk_skb",
	[BPF_PROG_TYPE_CGROUP_DEVICE] = "cgroup_device",
	[BPF_PROG_TYPE_SK_MSG] = "sk_msg",
	[BPF_PROG_TYPE_RAW_TRACEPOINT] = "raw_tracepoint",
	[BPF_PROG_TYPE_CGROUP_SOCK_ADDR] = "cgroup_sock_addr",
	[BPF_PROG_TYPE_LWT_SEG6LOCAL] = "lwt_seg6local",
	[BPF_PROG_TYPE_LIRC_MODE2] = "lirc_mode2",
	[BPF_PROG_TYPE_SK_REUSEPORT] = "sk_reuseport",
	[BPF_PROG_TYPE_FLOW_DISSECTOR] = "flow_dissector",
	[BPF_PROG_TYPE_CGROUP_SYSCTL] = "cgroup_sysctl",
	[BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE] = "raw_tracepoint_writable",
	[BPF_PROG_TYPE_CGROUP_SOCKOPT] = "cgroup_sockopt",
	[BPF_PROG_TYPE_TRACING] = "tracing",
	[BPF_PROG_TYPE_STRUCT_OPS] = "struct_ops",
	[BPF_PROG_TYPE_EXT] = "ext",
	[BPF_PROG_TYPE_LSM] = "lsm",
	[BPF_PROG_TYPE_SK_LOOKUP] = "sk_lookup",
	[BPF_PROG_TYPE_SYSCALL] = "syscall",
	[LD_PROG_TYPE_NETFILTER] = "netfilter",
};

const char *prog_type_name(u32 type)
{
	if (type < ARRAY_SIZE(prog_type_names) && prog_type_names[type])
		return prog_type_names[type];
	return "unknown";
}
