/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a sockops program needs for BPF timestamping (Linux 6.14): the UAPI
 * values, defined here so that headers of older kernels build the objects,
 * the two kfuncs, and the request for the callbacks. Shared by
 * wireflame.bpf.c and the bench's hook-floor.bpf.c, which must stamp
 * through the same callbacks.
 */
#ifndef WF_TSTAMP_H
#define WF_TSTAMP_H

#define SOL_SOCKET 1
#define WF_SK_BPF_CB_FLAGS 1009
#define WF_SK_BPF_CB_TX_TIMESTAMPING 1
#define WF_SOCK_OPS_TSTAMP_SCHED_CB 16
#define WF_SOCK_OPS_TSTAMP_SND_SW_CB 17
#define WF_SOCK_OPS_TSTAMP_SENDMSG_CB 20

/* Weak: the loader picks this path only where the kernel has both. */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;
extern int bpf_sock_ops_enable_tx_tstamp(struct bpf_sock_ops_kern *skops, __u64 flags) __ksym __weak;

/* Asks for the timestamping callbacks on a connection: a sockops context, or
 * a TCP socket from an iterator (bpf_setsockopt takes either). */
static __always_inline void wf_tstamp_flag(void *sock)
{
	int flags = WF_SK_BPF_CB_TX_TIMESTAMPING;

	bpf_setsockopt(sock, SOL_SOCKET, WF_SK_BPF_CB_FLAGS, &flags, sizeof(flags));
}

#endif
