// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A bench fixture, never loaded by Wireflame itself: programs on the same
 * hooks as wireflame.bpf.o that do the least each send path needs and
 * nothing else. bench/kernel-overhead.ts measures them as the floor of a
 * path's cost, what the kernel's own dispatch of the hooks costs a request
 * before any program body: the receive tracepoints return at once; the
 * tracepoint send hooks return at once; the timestamping path flags
 * connections and has the observed process's sends stamped, so that the
 * kernel makes its stamp callbacks, which return at once.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tstamp.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The observed process, written by the bench before it attaches. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} floor_tgid SEC(".maps");

SEC("sockops")
int floor_tstamp_sockops(struct bpf_sock_ops *skops)
{
	__u32 zero = 0;
	__u32 *tgid;

	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		wf_tstamp_flag(skops);
		break;
	case WF_SOCK_OPS_TSTAMP_SENDMSG_CB:
		tgid = bpf_map_lookup_elem(&floor_tgid, &zero);
		if (tgid && *tgid == bpf_get_current_pid_tgid() >> 32)
			bpf_sock_ops_enable_tx_tstamp(bpf_cast_to_kern_ctx(skops), 0);
		break;
	}
	return 1;
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(floor_sendmsg_btf, struct sock *sk, struct msghdr *msg)
{
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(floor_send_length_btf, struct sock *sk, int ret)
{
	return 0;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(floor_dev_queue_btf, struct sk_buff *skb)
{
	return 0;
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(floor_dev_xmit_btf, struct sk_buff *skb)
{
	return 0;
}

SEC("tp_btf/sk_data_ready")
int BPF_PROG(floor_rx_ready_btf, struct sock *sk)
{
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(floor_rx_read_btf, struct sock *sk, int ret)
{
	return 0;
}
