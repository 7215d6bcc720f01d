/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The contract between the eBPF programs and user space: every struct and
 * constant that crosses the boundary is declared here and nowhere else.
 * src/kernel/layout.ts mirrors it for TypeScript; test/layout.test.ts checks
 * the mirror against the BTF of the compiled object, so the two cannot drift.
 */
#ifndef WIREFLAME_H
#define WIREFLAME_H

/* Kernel queueing stages a request's bytes pass through. */
#define WF_STAGE_RX_QUEUE 0  /* sk_data_ready -> the process reads the bytes */
#define WF_STAGE_TX_FIRST 1  /* sendmsg call -> its first byte reaches IP output */
#define WF_STAGE_TX_SEND 2   /* sendmsg call -> its last byte reaches IP output */
#define WF_STAGE_DEV_QUEUE 3 /* net_dev_queue -> net_dev_start_xmit, per skb */
#define WF_STAGE_PEER_WAIT 4 /* a client socket's send -> the peer's answer arrives */
#define WF_STAGES 5

/* log2(ns) buckets: slot i holds durations in [2^(i-1), 2^i) ns, slot 0 holds 0. */
#define WF_HIST_SLOTS 64

/* Per-hook counters, indexed by these ids. */
#define WF_HOOK_TCP_SENDMSG 0 /* a sendmsg call on an observed socket began */
#define WF_HOOK_IP_OUT 1      /* an observed skb reached IP output */
#define WF_HOOK_DEV_QUEUE 2   /* an observed skb entered the device queue */
#define WF_HOOK_DEV_XMIT 3    /* an observed skb started transmit */
#define WF_HOOK_RX_READY 4    /* data became readable on an observed socket */
#define WF_HOOK_RX_READ 5     /* an observed process read queued bytes */
#define WF_HOOK_SOCK_CLOSE 6  /* an observed socket closed */
#define WF_HOOKS 7

/* Who observes: everything, a set of tgids, or a set of cgroup v2 ids. */
#define WF_INLINE_PIDS 8 /* up to this many tgids are compared in place, no lookup */
#define WF_FILTER_ALL 0
#define WF_FILTER_PID 1
#define WF_FILTER_CGROUP 2

/* wf_owner.flags: the owner is the server side of the connection; bytes it
 * receives belong to the *next* request, so receive waits go to rx_pending. */
#define WF_OWNER_SERVER 1

/* The span that currently owns a socket. Written by user space, keyed by the
 * socket cookie (SO_COOKIE). */
struct wf_owner {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u32 flags;
	__u32 reserved;
};

/* Key of the per-span aggregates: trace id and span id. */
struct wf_owner_key {
	__u8 trace_id[16];
	__u8 span_id[8];
};

struct wf_stage_agg {
	__u64 sum_ns;
	__u64 max_ns;
	__u64 count;
	__u64 bytes;
	__u64 first_ns; /* CLOCK_MONOTONIC start of the earliest occurrence; 0 if none timed */
	__u64 last_ns;  /* CLOCK_MONOTONIC end of the latest occurrence */
};

/* Value of the per-span aggregate map: one entry per stage. */
struct wf_span_stats {
	struct wf_stage_agg stage[WF_STAGES];
};

/*
 * Slots: the per-request path with no system call. A socket's slot is
 * cookie % WF_SLOTS in an mmap'd array. User space claims it by swapping
 * its cookie in (0 -> cookie; a slot held by another live socket sends that
 * socket down the hash path), writes each new owner in place and bumps gen;
 * the kernel adds stages into it while gen is the one a record began
 * under, and frees it when the socket closes. A stage's aggregate belongs
 * to the generation in its stage_gen: the kernel's first add under a new
 * generation clears it and writes the tag, and user space reads only the
 * stages tagged with its owner's generation. (Clearing them at each owner
 * change cost user space more than the rest of the change.)
 */
#define WF_SLOTS 16384 /* a power of two */

struct wf_slot {
	__u64 cookie;      /* the socket holding the slot; 0 = free */
	__u32 gen;         /* bumped by user space at each owner change; 0 = no owner yet */
	__u32 flags;       /* WF_OWNER_* */
	__u8 trace_id[16]; /* the owner, for raw events */
	__u8 span_id[8];
	__u64 stage_gen[WF_STAGES];           /* the generation each stage's aggregate belongs to (64 bits: the kernel swaps it) */
	struct wf_stage_agg parked_rx;        /* a server's receive waits, for the request they start */
	struct wf_stage_agg stage[WF_STAGES]; /* the owner's stages, where stage_gen is gen */
};

struct wf_hist {
	__u64 slot[WF_STAGES][WF_HIST_SLOTS];
	__u64 sum_ns[WF_STAGES];
};

/* Key of the per-peer answer waits: the remote end of client sockets. */
struct wf_peer_key {
	__u8 addr[16]; /* IPv4 in the first 4 bytes when family is AF_INET */
	__u16 port;    /* host byte order */
	__u16 family;
	__u32 reserved;
};

/* Which end of a connection the observed process is, as user space tells it
 * for connections already open when the probes start: the kernel, seeing
 * them first mid-conversation, cannot tell who spoke first. */
#define WF_ROLE_CLIENT 1
#define WF_ROLE_SERVER 2

/* A connection by its two ends, as the socket holds them (addresses in
 * network byte order, IPv4 in the first 4 bytes; ports in host byte order). */
struct wf_conn_key {
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_port;
	__u16 remote_port;
	__u16 family;
	__u16 reserved;
};

struct wf_counters {
	__u64 hits;        /* times the hook did work for an observed socket */
	__u64 events;      /* raw events written to the ring buffer */
	__u64 event_drops; /* raw events lost: ring buffer full */
	__u64 map_full;    /* map updates that failed */
	__u64 overflow;    /* sendmsg records overwritten before they matched */
	__u64 late;        /* sendmsg records ended by a later segment: the hook missed their own */
};

struct wf_config {
	__u32 filter;              /* WF_FILTER_* */
	__u32 event_sample;        /* emit 1 raw event in N; 0 = no raw events */
	__u32 wakeup_bytes;        /* wake the reader once this much is queued */
	__u32 tx_match_at_dev_queue; /* no ip_local_out hook: match at net_dev_queue */
	__u32 generation;          /* bumped when the pid or cgroup set changes */
	__u32 state_in_hash;       /* a kprobe is attached: keep socket state in a hash */
	__u32 owners_used;         /* user space has written an owner: look them up */
	__u32 tx_at_driver;        /* for readers of the pinned map: a send call's device-queue stage is
	                            * recorded once the driver took its last byte (timestamping, or the
	                            * tracepoints matching calls at net_dev_queue) */
	__u32 npids;               /* tgids in the pid set; pids[] holds them when few */
	__u32 pids[WF_INLINE_PIDS];
};

/* One raw stage event in the ring buffer. */
struct wf_event {
	__u64 ts_ns;       /* CLOCK_MONOTONIC at the end of the stage */
	__u64 duration_ns;
	__u64 cookie;      /* socket cookie; 0 when the kernel had none yet */
	__u8 trace_id[16]; /* zero when the socket had no owner */
	__u8 span_id[8];
	__u32 tgid;
	__u32 bytes;
	__u32 seq;         /* first TCP sequence number of the bytes */
	__u32 seq_end;     /* one past the last */
	__u8 saddr[16];    /* IPv4 in the first 4 bytes when family is AF_INET */
	__u8 daddr[16];
	__u16 sport;       /* host byte order */
	__u16 dport;
	__u16 family;
	__u8 stage;        /* WF_STAGE_* */
	__u8 reserved;
};

#endif /* WIREFLAME_H */
