// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel queueing time per request on the TCP paths.
 *
 * Send path: a sendmsg call is recorded at its first hit, as the sequence
 * range it will occupy (write_seq, plus the bytes the message holds), and
 * matched to the skbs that carry those bytes by TCP sequence number when they
 * reach IP output: the transmitted skb is a clone whose cb was wiped, so
 * neither its address nor its cb leads back to the call. Device queue: the
 * same skb address from net_dev_queue to net_dev_start_xmit. Receive path:
 * sk_data_ready to the process's read.
 *
 * Where the kernel has BPF timestamping (6.14 on), one sockops program does
 * the whole send path instead: see its section below.
 *
 * Each logical hook has alternatives (sockops, fentry, kprobe, tp_btf); the
 * loader keeps one per hook and disables the others before load.
 *
 * Cost matters more than anything here (every packet of the service passes
 * through): per-socket state lives in socket-local storage (a pointer in the
 * socket, no hashing), tracing programs read kernel memory with plain CO-RE
 * loads, and raw events are optional and sampled.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "wireflame.h"
#include "tstamp.h"

/* vmlinux.h has the kernel's enums (IPPROTO_TCP, SOCK_STREAM, TCP_CLOSE...), not its macros. */
#define AF_INET 2

#define TX_CALLS 8
#define CALL_FIRST_SEEN 1 /* its first byte reached IP output */
#define CALL_SCHEDULED 2  /* its last byte entered the device queue at ts_hi; the driver has yet to take it */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Tracing programs (fentry, tp_btf) read kernel memory with plain CO-RE
 * loads; kprobes must call bpf_probe_read_kernel, several times slower.
 * `btf` is a constant at every call site, so only one branch is compiled. */
#define KREAD(btf, ptr, field) ((btf) ? (ptr)->field : BPF_CORE_READ(ptr, field))

/* How a record names the span its bytes belong to: by trace and span id in
 * the span-keyed hash, or as the socket's slot at the generation the record
 * began under (a later owner of the slot does not get them). */
#define OWNER_NONE 0
#define OWNER_HASH 1
#define OWNER_SLOT 2

struct owner_ref {
	struct wf_owner_key key;
	__u32 kind; /* OWNER_* */
	__u32 gen;  /* OWNER_SLOT: the slot's generation */
};

struct tx_call {
	__u64 ts;      /* when the call began; 0 = slot free */
	__u64 ts_hi;   /* when sent_hi last advanced */
	__u32 start;   /* write_seq at the call's start */
	__u32 end;     /* start + the bytes the call was given */
	__u32 sent_hi; /* highest sequence of the call seen at IP output */
	__u32 flags;
	struct owner_ref owner;
};

/* When unread bytes became ready, and how far reads had got then: a read
 * later is theirs only if no other read came in between. */
struct rx_mark {
	__u64 ts; /* 0 = nothing unread */
	__u32 copied_seq;
	__u32 reserved;
};

struct sock_state {
	__u64 cookie;
	__u64 asked_ts; /* client socket: when the unanswered request was sent; 0 = none */
	struct rx_mark rx_ready; /* the oldest unread bytes */
	__u32 tgid;        /* the observed task that uses the socket */
	__u32 filter_gen;  /* wf_config.generation when tgid passed the filter */
	__u32 next;        /* ring position of the next call record */
	/* WF_ROLE_*, 0 until known. Who spoke first on the socket: the client
	 * of a request/response protocol (HTTP, Redis, PostgreSQL) sends first,
	 * the server reads first. */
	__u32 role;
	__u32 tx_end;      /* timestamping: where the last recorded call's bytes end */
	__u32 tx_end_known;
	struct tx_call calls[TX_CALLS];
};

struct skb_queued {
	__u64 ts;
	__u64 cookie;
	__u64 sk; /* for the raw event's addresses; the skb holds a reference */
	__u32 bytes;
	__u32 reserved;
	struct owner_ref owner;
	__u32 seq;
	__u32 tgid;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_config);
} wf_config_map SEC(".maps");

/* The shared map: socket cookie -> the span that owns the socket now. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct wf_owner);
} wf_owners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WF_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct wf_slot);
} wf_slots SEC(".maps");

/* Per-span stage aggregates; user space reads and deletes them at span end. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct wf_owner_key);
	__type(value, struct wf_span_stats);
} wf_span_stats SEC(".maps");

/* Receive waits of server sockets, claimed by the next request. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct wf_stage_agg);
} wf_rx_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} wf_target_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} wf_target_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_hist);
} wf_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WF_HOOKS);
	__type(key, __u32);
	__type(value, struct wf_counters);
} wf_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} wf_events SEC(".maps");

/* Per-socket state, in a slot of its own chosen by the socket's cookie: an
 * inlined array lookup, where socket storage costs a helper call three times
 * a request. The slot is claimed by swapping the cookie into a free one and
 * cleared at close; a socket whose slot another socket holds keeps its state
 * in socket storage. */
#define STATE_SLOTS 4096 /* a power of two */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STATE_SLOTS);
	__type(key, __u32);
	__type(value, struct sock_state);
} wf_sock_slots SEC(".maps");

/* Per-socket state of sockets whose slot is taken: freed with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_state);
} wf_sk_state SEC(".maps");

/* The same state, keyed by socket address, when a kprobe is among the chosen
 * hooks: kprobes cannot use socket storage, and all hooks must share one. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sock_state);
} wf_socks SEC(".maps");

/* The roles of connections open before the probes, by their ends: written
 * by user space as the probes start (src/host/tcp-connections.ts), read when
 * a socket is first seen mid-conversation. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct wf_conn_key);
	__type(value, __u32);
} wf_role_hints SEC(".maps");

/* Answer waits of client sockets, per peer: how long the backends took. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct wf_peer_key);
	__type(value, struct wf_stage_agg);
} wf_peer_stats SEC(".maps");

/* Data that became readable on a new connection before any observed task
 * touched it (the first request arrives before accept). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct rx_mark);
} wf_rx_unclaimed SEC(".maps");

/* skbs waiting in a qdisc, by address, where ip_local_out is hooked: the
 * device queue then times skbs for the socket's owner. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct skb_queued);
} wf_skb_queued SEC(".maps");

/* Ever inserted into wf_skb_queued: until then every transmit skips the
 * lookup, as it does on hosts whose observed traffic meets no qdisc. */
static volatile __u32 skb_queued_used;

/* The last skb this CPU gave to a device without a queue (loopback, veth
 * without a qdisc). Such a device transmits before net_dev_queue's caller
 * returns, so its device-queue time is zero by construction and is recorded
 * at once: no clock read, no hash insert. The slot only lets the transmit
 * hook see, cheaply, that it ran for an observed skb. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wf_skb_inline SEC(".maps");

/* Zero values to insert from: the structs are too large for the BPF stack. */
static const struct sock_state zero_sock_state;
static const struct wf_span_stats zero_span_stats;
static const struct wf_stage_agg zero_agg;

static __always_inline bool seq_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 slot = 0;

	if (v >> 32) { v >>= 32; slot += 32; }
	if (v >> 16) { v >>= 16; slot += 16; }
	if (v >> 8) { v >>= 8; slot += 8; }
	if (v >> 4) { v >>= 4; slot += 4; }
	if (v >> 2) { v >>= 2; slot += 2; }
	if (v >> 1) { slot += 1; }
	return v ? slot + 1 : 0;
}

static __always_inline struct wf_config *wf_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&wf_config_map, &zero);
}

static __always_inline struct wf_counters *counters(__u32 hook)
{
	return bpf_map_lookup_elem(&wf_counters, &hook);
}

static __always_inline void count_hit(__u32 hook)
{
	struct wf_counters *c = counters(hook);

	if (c)
		c->hits++;
}

static __always_inline void count_map_full(__u32 hook)
{
	struct wf_counters *c = counters(hook);

	if (c)
		c->map_full++;
}

static __always_inline void count_late(__u32 hook)
{
	struct wf_counters *c = counters(hook);

	if (c)
		c->late++;
}

/* A few pids are compared in place, cheaper than any lookup. */
static __always_inline bool filter_is_inline(struct wf_config *cfg)
{
	return cfg->filter == WF_FILTER_ALL || (cfg->filter == WF_FILTER_PID && cfg->npids <= WF_INLINE_PIDS);
}

static __always_inline bool task_observed(struct wf_config *cfg, __u32 tgid)
{
	if (cfg->filter == WF_FILTER_ALL)
		return true;
	if (cfg->filter == WF_FILTER_PID) {
		if (cfg->npids > WF_INLINE_PIDS)
			return bpf_map_lookup_elem(&wf_target_pids, &tgid) != NULL;
		for (int i = 0; i < WF_INLINE_PIDS; i++)
			if (i < cfg->npids && cfg->pids[i] == tgid)
				return true;
		return false;
	}
	__u64 cg = bpf_get_current_cgroup_id();

	return bpf_map_lookup_elem(&wf_target_cgroups, &cg) != NULL;
}

/* Tracing programs can generate the cookie; kprobes can only read one that
 * user space or another program already generated. */
static __always_inline __u64 sk_cookie(struct sock *sk, bool btf)
{
	if (btf)
		return bpf_get_socket_cookie(sk);
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

#define STAGE_BIT(stage) (1u << (stage))

/* One record of bytes that ended one stage, or several at once: a stamp
 * can end a call's TX_FIRST and TX_SEND together, and on a device without a
 * queue its DEV_QUEUE too, which then took no time. Every stage takes
 * `duration` but such a DEV_QUEUE. Packed because BPF calls take at most
 * five arguments. */
struct stage_rec {
	__u64 duration;
	__u64 end_ts;
	__u64 cookie;
	struct owner_ref owner;
	__u32 bytes;
	__u32 tgid;
	__u32 seq;
	__u32 seq_end;
	__u32 stages; /* STAGE_BIT(WF_STAGE_*), or-ed */
	__u32 hook;
	__u64 sk; /* the socket's address, read only for raw events */
};

static __always_inline __u64 stage_duration(struct stage_rec *r, __u32 stage)
{
	if (stage == WF_STAGE_DEV_QUEUE && r->stages != STAGE_BIT(WF_STAGE_DEV_QUEUE))
		return 0;
	return r->duration;
}

/* end_ts 0 means the stage took no time and the clock was not read: it
 * counts, but does not move the stage's bounds. `shared`: other CPUs may add
 * to the same aggregate at the same time, so the sums are locked adds. An
 * aggregate of one socket is not shared when only paths that hold the
 * socket's lock add to it (sendmsg, TCP transmit, recvmsg, data ready): a
 * locked add costs several plain ones, four times a request. */
static __always_inline void agg_add(struct wf_stage_agg *a, __u64 duration, __u64 end_ts, __u32 bytes,
				    bool shared)
{
	if (shared) {
		__sync_fetch_and_add(&a->sum_ns, duration);
		__sync_fetch_and_add(&a->count, 1);
		__sync_fetch_and_add(&a->bytes, bytes);
	} else {
		a->sum_ns += duration;
		a->count += 1;
		a->bytes += bytes;
	}
	if (duration > a->max_ns)
		a->max_ns = duration;
	if (!end_ts)
		return;
	if (!a->first_ns || end_ts - duration < a->first_ns)
		a->first_ns = end_ts - duration;
	if (end_ts > a->last_ns)
		a->last_ns = end_ts;
}

static __noinline void fill_event(struct wf_event *e, struct stage_rec *r, struct sock *sk, __u32 stage)
{
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = r->end_ts;
	e->duration_ns = stage_duration(r, stage);
	e->cookie = r->cookie;
	e->tgid = r->tgid;
	e->bytes = r->bytes;
	e->seq = r->seq;
	e->seq_end = r->seq_end;
	e->stage = stage;
	if (r->owner.kind)
		__builtin_memcpy(e->trace_id, &r->owner.key, sizeof(r->owner.key));
	if (!sk)
		return;
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (e->family == AF_INET) {
		/* BPF_CORE_READ_INTO reads sizeof(*dst): give it the field's type. */
		BPF_CORE_READ_INTO((__u32 *)e->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)e->daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)e->daddr, sk, __sk_common.skc_v6_daddr);
	}
}

static __noinline void emit_event(struct wf_config *cfg, struct stage_rec *r, struct sock *sk, __u32 stage)
{
	struct wf_counters *c = counters(r->hook);
	struct wf_event *e = bpf_ringbuf_reserve(&wf_events, sizeof(*e), 0);

	if (!e) {
		if (c)
			c->event_drops++;
		return;
	}
	fill_event(e, r, sk, stage);
	if (c)
		c->events++;

	__u64 flags = BPF_RB_NO_WAKEUP;

	/* Batch wakeups: user space also drains on a timer. */
	if (bpf_ringbuf_query(&wf_events, BPF_RB_AVAIL_DATA) >= cfg->wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

/* The first add to a slot's stage under a new owner clears what an earlier
 * owner left there, then tags it: a reader (user space, at span end, maybe
 * on another CPU) never sees the new owner's tag on the old owner's sums. A
 * shared add first swaps the tag to 0, which no owner has: of two CPUs, one
 * clears. (The other's add could still be cleared if the first stalled
 * between its swap and its clear; the only adds from another CPU are a
 * queued device's transmits, which its qdisc runs one at a time.) */
static __always_inline void claim_agg(struct wf_stage_agg *a, __u64 *tag, __u64 gen, bool shared)
{
	__u64 old = *tag;

	if (old == gen)
		return;
	if (shared && __sync_val_compare_and_swap(tag, old, 0) != old)
		return;
	__builtin_memset(a, 0, sizeof(*a));
	/* The clear before the tag. x86 keeps the order of stores, so program
	 * order is enough there; elsewhere a swap is a full barrier. */
#ifdef __TARGET_ARCH_x86
	asm volatile("" ::: "memory");
	*tag = gen;
#else
	__sync_lock_test_and_set(tag, gen);
#endif
}

/* The slot the socket holds, if it holds its own. */
static __always_inline struct wf_slot *slot_of(__u64 cookie)
{
	__u32 idx = cookie & (WF_SLOTS - 1);
	struct wf_slot *s = bpf_map_lookup_elem(&wf_slots, &idx);

	return s && s->cookie == cookie ? s : NULL;
}

/* Histograms for 100 % of traffic, the owner's aggregates, and sampled raw
 * events: one histogram and one owner lookup for all the record's stages.
 * A global function, verified once rather than at each call: the loops over
 * a socket's calls and a record's stages would multiply its paths past the
 * verifier's limit. It takes no pointer but the record. */
__noinline int record_stages_of(struct stage_rec *r)
{
	struct wf_config *cfg = wf_cfg();
	__u32 zero = 0;
	struct wf_hist *h = bpf_map_lookup_elem(&wf_hist, &zero);
	struct wf_stage_agg *aggs = NULL;
	__u64 *tags = NULL; /* a slot's: whose each aggregate is */
	bool shared = true;

	if (!r || !cfg)
		return 0;

	if (r->owner.kind == OWNER_SLOT) {
		struct wf_slot *slot = slot_of(r->cookie);

		if (slot && slot->gen == r->owner.gen) {
			aggs = slot->stage;
			tags = slot->stage_gen;
			/* A queued skb leaves its device from whichever CPU
			 * runs the qdisc, without the socket's lock. */
			shared = r->hook == WF_HOOK_DEV_XMIT;
		}
	} else if (r->owner.kind == OWNER_HASH) {
		struct wf_span_stats *s = bpf_map_lookup_elem(&wf_span_stats, &r->owner.key);

		if (!s) {
			bpf_map_update_elem(&wf_span_stats, &r->owner.key, &zero_span_stats, BPF_NOEXIST);
			s = bpf_map_lookup_elem(&wf_span_stats, &r->owner.key);
			if (!s)
				count_map_full(r->hook);
		}
		if (s)
			aggs = s->stage;
	}

#pragma clang loop unroll(disable)
	for (__u32 stage = 0; stage < WF_STAGES; stage++) {
		if (!(r->stages & STAGE_BIT(stage)))
			continue;
		__u64 duration = stage_duration(r, stage);

		if (h) {
			h->slot[stage][log2_slot(duration) & (WF_HIST_SLOTS - 1)]++;
			h->sum_ns[stage] += duration;
		}
		if (tags)
			claim_agg(&aggs[stage], &tags[stage], r->owner.gen, shared);
		if (aggs)
			agg_add(&aggs[stage], duration, r->end_ts, r->bytes, shared);
		if (cfg->event_sample && bpf_get_prandom_u32() % cfg->event_sample == 0)
			emit_event(cfg, r, (struct sock *)r->sk, stage);
	}
	return 0;
}

static __always_inline void record_stages(struct stage_rec *r, struct sock *sk)
{
	r->sk = (__u64)sk;
	record_stages_of(r);
}

/* The socket's current owner into *ref (kind OWNER_NONE when it has none);
 * returns the owner's WF_OWNER_* flags, and with OWNER_SLOT the slot itself
 * into *slotp when the caller asks (NULL: it does not). The slot comes
 * first: it needs no hashing. The shared hash is large and its lookups miss
 * the cache: they are skipped until user space has written an owner at all. */
static __always_inline __u32 owner_ref_of(struct wf_config *cfg, __u64 cookie, struct owner_ref *ref,
					  struct wf_slot **slotp)
{
	ref->kind = OWNER_NONE;
	if (!cookie || !cfg->owners_used)
		return 0;
	struct wf_slot *s = slot_of(cookie);

	if (s) {
		if (!s->gen)
			return 0;
		ref->kind = OWNER_SLOT;
		ref->gen = s->gen;
		__builtin_memcpy(&ref->key, s->trace_id, sizeof(ref->key));
		if (slotp)
			*slotp = s;
		return s->flags;
	}
	struct wf_owner *o = bpf_map_lookup_elem(&wf_owners, &cookie);

	if (!o)
		return 0;
	ref->kind = OWNER_HASH;
	__builtin_memcpy(&ref->key, o, sizeof(ref->key));
	return o->flags;
}

/* ---- per-socket state ---- */

/* Linux 6.2 and later; weak, so that the object still loads before. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* The TCP socket behind a tracing program's socket, NULL for others: what
 * bpf_skc_to_tcp_sock checks, without a helper call where the kernel has
 * the cast (it costs nothing at run time; reads through it are
 * fault-checked loads). Every packet of every process passes here. */
static __always_inline struct tcp_sock *as_tcp(struct sock *sk)
{
	if (!bpf_rdonly_cast)
		return bpf_skc_to_tcp_sock(sk);
	/* Not a full socket (time-wait, request): its struct ends before sk_protocol. */
	if ((1 << sk->__sk_common.skc_state) & ((1 << TCP_TIME_WAIT) | (1 << TCP_NEW_SYN_RECV)))
		return NULL;
	if (sk->sk_protocol != IPPROTO_TCP || sk->sk_type != SOCK_STREAM)
		return NULL;
	return bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct tcp_sock));
}

/* The socket's state slot if it holds it; with `claim`, the slot claimed
 * for it if free. Cookies come in per-CPU batches of consecutive numbers: a
 * multiplicative hash spreads them over the slots. */
static __always_inline struct sock_state *state_slot(__u64 cookie, bool claim)
{
	__u32 idx = (cookie * 0x9E3779B97F4A7C15ULL) >> 52;
	struct sock_state *st;

	if (!cookie)
		return NULL;
	st = bpf_map_lookup_elem(&wf_sock_slots, &idx);
	if (!st)
		return NULL;
	if (claim)
		return __sync_val_compare_and_swap(&st->cookie, 0, cookie) == 0 ? st : NULL;
	return st->cookie == cookie ? st : NULL;
}

/* A socket's state: its slot, else its socket storage. A socket's cookie is
 * generated on first use: a plain load reads it after. A sockops program
 * says so (in_sockops, a constant: the verifier walks both ways of a test on
 * the context, and refuses a tracing program's helpers on either) and passes
 * its context, which its helpers take in place of the socket. */
static __always_inline struct sock_state *sock_state_of(struct sock *sk, bool in_sockops,
							struct bpf_sock_ops *skops, bool create)
{
	__u64 cookie = sk->__sk_common.skc_cookie.counter;
	struct sock_state *st = state_slot(cookie, false);
	void *storage_sk = sk;

	if (st)
		return st;
	/* Most packets are of sockets no program gave state to (those of
	 * processes outside the filter): field reads tell, where the helpers
	 * are calls. */
	if (!create && !sk->sk_bpf_storage)
		return NULL;
	if (in_sockops) {
		struct bpf_sock *ctx_sk = skops->sk;

		/* Kept in a register: the verifier refuses a second load of it. */
		barrier_var(ctx_sk);
		if (!ctx_sk)
			return NULL;
		storage_sk = ctx_sk;
	}
	if (create) {
		if (!cookie)
			cookie = in_sockops ? bpf_get_socket_cookie(skops) : bpf_get_socket_cookie(sk);
		st = state_slot(cookie, true);
		if (st)
			return st;
	}
	return bpf_sk_storage_get(&wf_sk_state, storage_sk, 0, create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
}

static __always_inline struct sock_state *state_of(struct wf_config *cfg, struct sock *sk, bool btf,
						   bool create)
{
	if (btf && !cfg->state_in_hash)
		return sock_state_of(sk, false, NULL, create);

	__u64 key = (__u64)sk;
	struct sock_state *st = bpf_map_lookup_elem(&wf_socks, &key);

	if (st || !create)
		return st;
	bpf_map_update_elem(&wf_socks, &key, &zero_sock_state, BPF_NOEXIST);
	return bpf_map_lookup_elem(&wf_socks, &key);
}

/* The socket's state if the current task is observed, created on first
 * sight. An inline filter is checked first; a filter that needs a lookup
 * (many pids, cgroups) is skipped by a task that already passed it for this
 * socket under the current filter generation. A sockops program passes
 * in_sockops and its context, as to sock_state_of. */
static __always_inline struct sock_state *observed_state(struct wf_config *cfg, struct sock *sk,
							 bool btf, bool in_sockops, struct bpf_sock_ops *sockops,
							 __u32 hook, bool *created)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	bool inline_filter = filter_is_inline(cfg);

	*created = false;
	if (inline_filter && !task_observed(cfg, tgid))
		return NULL;
	struct sock_state *st = in_sockops ? sock_state_of(sk, true, sockops, false) : state_of(cfg, sk, btf, false);

	if (st && st->tgid == tgid && st->filter_gen == cfg->generation)
		return st;
	if (!inline_filter && !task_observed(cfg, tgid))
		return NULL;
	if (!st) {
		st = in_sockops ? sock_state_of(sk, true, sockops, true) : state_of(cfg, sk, btf, true);
		if (!st) {
			count_map_full(hook);
			return NULL;
		}
		*created = true;
	}
	st->tgid = tgid;
	st->filter_gen = cfg->generation;
	return st;
}

/* observed_state for tracing programs, with the socket's cookie taken once;
 * kprobes may see 0 until user space generates one. (A sockops program
 * takes it from its context: the helper refuses a socket pointer there.) */
static __always_inline struct sock_state *traced_state(struct wf_config *cfg, struct sock *sk, bool btf,
						       __u32 hook, bool *created)
{
	struct sock_state *st = observed_state(cfg, sk, btf, false, NULL, hook, created);

	if (st && !st->cookie)
		st->cookie = sk_cookie(sk, btf);
	return st;
}

/* ---- send path ---- */

/* A field of the TCP socket (write_seq: where the next sent byte goes;
 * copied_seq: how far reads have got; bytes_sent, bytes_received); false for
 * non-TCP sockets. A macro because the field is a name. */
#define tcp_field(sk, btf, field, out)                                      \
	({                                                                      \
		bool ok_ = false;                                               \
		if (btf) {                                                      \
			struct tcp_sock *tp_ = as_tcp(sk);                      \
			if (tp_) {                                              \
				*(out) = tp_->field;                            \
				ok_ = true;                                     \
			}                                                       \
		} else if (BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP) {     \
			*(out) = BPF_CORE_READ((struct tcp_sock *)(sk), field); \
			ok_ = true;                                             \
		}                                                               \
		ok_;                                                            \
	})

/* A send-path stage of one call, from its start to `end_ts`, covering its
 * bytes up to `seq_end`. */
static __always_inline void call_rec(struct stage_rec *r, struct sock_state *st, struct tx_call *c,
				     __u32 stages, __u64 end_ts, __u32 seq_end)
{
	r->duration = end_ts - c->ts;
	r->end_ts = end_ts;
	r->cookie = st->cookie;
	r->tgid = st->tgid;
	r->seq = c->start;
	r->seq_end = seq_end;
	r->bytes = seq_end - c->start;
	r->stages = stages;
	r->hook = WF_HOOK_IP_OUT;
	r->owner = c->owner;
}

/* The device-queue stage of a call whose last byte entered the queue at
 * ts_hi and which the driver took `now`. A qdisc may run the transmit on
 * another CPU, without the socket's lock. */
static __always_inline void queue_rec(struct stage_rec *r, struct sock_state *st, struct tx_call *c, __u64 now)
{
	call_rec(r, st, c, STAGE_BIT(WF_STAGE_DEV_QUEUE), now, c->end);
	r->duration = now - c->ts_hi;
	r->hook = WF_HOOK_DEV_XMIT;
}

/* The call's last byte reached IP output at ts_hi. `hold`: its record stays
 * until the driver takes that byte (see calls_transmitted). */
static __noinline void tx_call_complete(struct wf_config *cfg, struct sock *sk,
					struct sock_state *st, struct tx_call *c, bool hold)
{
	struct stage_rec r = {};

	call_rec(&r, st, c, STAGE_BIT(WF_STAGE_TX_SEND), c->ts_hi, c->end);
	if (hold)
		c->flags |= CALL_SCHEDULED;
	else
		c->ts = 0;
	record_stages(&r, sk);
}

/* A short write's record, cut to the bytes it got, which have all reached
 * IP output already: the skb that carried its new last byte has passed, so
 * where calls are timed through the device queue, its time there cannot be
 * told any more. It counts as none, so that the call's bytes are all there. */
static __noinline void tx_call_cut_short(struct wf_config *cfg, struct sock *sk,
					 struct sock_state *st, struct tx_call *c)
{
	struct stage_rec r = {};

	tx_call_complete(cfg, sk, st, c, false);
	if (!cfg->tx_match_at_dev_queue)
		return;
	call_rec(&r, st, c, STAGE_BIT(WF_STAGE_DEV_QUEUE), c->ts_hi, c->end);
	r.duration = 0;
	record_stages(&r, sk);
}

/* The role user space gave a connection open before the probes; 0 when it
 * gave none. Only for a socket first seen mid-conversation, once. */
static __noinline __u32 role_hint(struct sock *sk, bool btf)
{
	struct wf_conn_key key = {};
	__u32 *role;

	key.family = KREAD(btf, sk, __sk_common.skc_family);
	key.local_port = KREAD(btf, sk, __sk_common.skc_num);
	key.remote_port = bpf_ntohs(KREAD(btf, sk, __sk_common.skc_dport));
	if (key.family == AF_INET) {
		*(__u32 *)key.local_addr = KREAD(btf, sk, __sk_common.skc_rcv_saddr);
		*(__u32 *)key.remote_addr = KREAD(btf, sk, __sk_common.skc_daddr);
	} else {
		struct in6_addr local = KREAD(btf, sk, __sk_common.skc_v6_rcv_saddr);
		struct in6_addr remote = KREAD(btf, sk, __sk_common.skc_v6_daddr);

		__builtin_memcpy(key.local_addr, &local, sizeof(local));
		__builtin_memcpy(key.remote_addr, &remote, sizeof(remote));
	}
	role = bpf_map_lookup_elem(&wf_role_hints, &key);
	return role ? *role : 0;
}

/* A socket's role, as its state is made. `opened`: nothing came the other
 * way before this end's first send (or read), which makes it `role`. A
 * socket first seen mid-conversation takes the role user space gave it, if
 * any (or, later, its owner's: see tx_call_new). */
static __always_inline __u32 first_role(struct sock *sk, bool btf, bool opened, __u32 role)
{
	return opened ? role : role_hint(sk, btf);
}

/* A record of the call that puts bytes [start, end) on the socket, from now. */
static __always_inline void tx_call_new(struct wf_config *cfg, struct sock_state *st, __u32 start, __u32 end)
{
	__u32 slot = st->next & (TX_CALLS - 1);
	struct tx_call *c = &st->calls[slot];

	if (c->ts) {
		struct wf_counters *k = counters(WF_HOOK_TCP_SENDMSG);

		if (k)
			k->overflow++;
	}
	__u32 owner_flags = owner_ref_of(cfg, st->cookie, &c->owner, NULL);

	/* A socket first seen mid-conversation (a pool's connection opened
	 * before the probes) has no role of its own: the span that owns it
	 * says which end this is. */
	if (!st->role && c->owner.kind != OWNER_NONE)
		st->role = (owner_flags & WF_OWNER_SERVER) ? WF_ROLE_SERVER : WF_ROLE_CLIENT;
	c->ts = bpf_ktime_get_ns();
	if (st->role == WF_ROLE_CLIENT && !st->asked_ts)
		st->asked_ts = c->ts;
	c->ts_hi = 0;
	c->start = start;
	c->end = end;
	c->sent_hi = start;
	c->flags = 0;
	st->next = (slot + 1) & (TX_CALLS - 1);
	count_hit(WF_HOOK_TCP_SENDMSG);
}

/* A send call with `left` bytes to write begins, or goes on: tcp_sendmsg_locked
 * fires once per chunk, and a short write's remainder comes back as a new
 * call with the same end. Either continues the newest record. */
static __always_inline void tx_call_begin(struct sock *sk, __u32 left, bool btf)
{
	struct wf_config *cfg = wf_cfg();
	__u32 seq;
	bool created;

	if (!cfg || !sk || !left)
		return;
	struct sock_state *st = traced_state(cfg, sk, btf, WF_HOOK_TCP_SENDMSG, &created);

	if (!st || !tcp_field(sk, btf, write_seq, &seq))
		return;
	__u64 received = 0;

	/* Nothing received before its first send: this end opened the exchange. */
	if (created)
		st->role = first_role(sk, btf, tcp_field(sk, btf, bytes_received, &received) && received == 0, WF_ROLE_CLIENT);

	struct tx_call *prev = &st->calls[(st->next + TX_CALLS - 1) & (TX_CALLS - 1)];

	if (prev->ts && seq + left == prev->end)
		return;
	/* A short write that the application did not finish: its record ends
	 * where the bytes it got end. */
	if (prev->ts && seq_before(seq, prev->end)) {
		prev->end = seq;
		if (prev->end == prev->start)
			prev->ts = 0;
		else if (prev->ts_hi && !seq_before(prev->sent_hi, prev->end))
			tx_call_cut_short(cfg, sk, st, prev);
	}

	tx_call_new(cfg, st, seq, seq + left);
}

struct tcp_seg {
	__u64 now; /* when it reached the hook (one clock read serves every stage), 0 when not read */
	__u32 seq;
	__u32 len;
};

/* The TCP segment an skb carries, read from its header. */
static __always_inline bool skb_tcp_seg(struct sk_buff *skb, struct tcp_seg *seg, bool btf, bool clock)
{
	unsigned char *head = KREAD(btf, skb, head);
	unsigned char *data = KREAD(btf, skb, data);
	__u16 th_off = KREAD(btf, skb, transport_header);
	__u32 len = KREAD(btf, skb, len);
	__u32 seq;
	__u32 doff;

	if (btf && bpf_rdonly_cast) {
		/* No helper call: a fault-checked load, as as_tcp reads. */
		struct tcphdr *th = bpf_rdonly_cast(head + th_off, bpf_core_type_id_kernel(struct tcphdr));

		seq = th->seq;
		doff = th->doff;
	} else {
		struct tcphdr th;

		if (bpf_probe_read_kernel(&th, sizeof(th), head + th_off))
			return false;
		seq = th.seq;
		doff = th.doff;
	}
	__s64 hdrs = (head + th_off) - data + doff * 4;

	if (hdrs < 0 || hdrs >= len)
		return false;
	seg->seq = bpf_ntohl(seq);
	seg->len = len - hdrs;
	/* Pure ACKs carry no call's bytes: spare them the clock. */
	seg->now = clock && seg->len ? bpf_ktime_get_ns() : 0;
	return true;
}

/* The first byte of one call reached IP output. */
static __noinline void tx_first_byte(struct wf_config *cfg, struct sock *sk,
				     struct sock_state *st, struct tx_call *c, __u64 now)
{
	struct stage_rec r = {};

	call_rec(&r, st, c, STAGE_BIT(WF_STAGE_TX_FIRST), now, c->sent_hi);
	record_stages(&r, sk);
}

/* Bytes of one segment reached IP output: advance every call they carry. */
static __noinline void tx_transmit(struct wf_config *cfg, struct sock *sk, struct sock_state *st,
				   struct tcp_seg *seg)
{
	__u64 now = seg->now;
	__u32 seg_end = seg->seq + seg->len;

	count_hit(WF_HOOK_IP_OUT);
#pragma clang loop unroll(disable)
	for (int i = 0; i < TX_CALLS; i++) {
		struct tx_call *c = &st->calls[i];

		if (!c->ts || (c->flags & CALL_SCHEDULED))
			continue;
		/* TCP sends a socket's bytes in order: a call that ends before
		 * this segment has had all its bytes out, in segments this hook
		 * missed (a tracepoint's program does not run for every hit, see
		 * calls_transmitted). It ends now, a little late, not never. */
		if (!seq_before(seg->seq, c->end)) {
			c->sent_hi = c->end;
			c->ts_hi = now;
			count_late(WF_HOOK_IP_OUT);
			tx_call_complete(cfg, sk, st, c, cfg->tx_match_at_dev_queue);
			continue;
		}
		if (!seq_before(c->start, seg_end))
			continue;
		if (seq_before(c->sent_hi, seg_end)) {
			c->sent_hi = seg_end;
			c->ts_hi = now;
		}
		if (!(c->flags & CALL_FIRST_SEEN) && !seq_before(c->start, seg->seq)) {
			c->flags |= CALL_FIRST_SEEN;
			tx_first_byte(cfg, sk, st, c, now);
		}
		if (!seq_before(c->sent_hi, c->end))
			tx_call_complete(cfg, sk, st, c, cfg->tx_match_at_dev_queue);
	}
}

/* The driver took the skb that holds the last byte of calls whose last byte
 * entered the device queue (CALL_SCHEDULED, at ts_hi): their device-queue
 * time ends, and their records are done.
 *
 * So do those of calls that ended before the skb: the device sends a
 * socket's skbs in the order they were queued, so theirs went first, but
 * this hook's program did not run for it. That happens to a tracepoint's
 * programs, all of them at once, about once in a few thousand transmits
 * here, with no recursion miss counted: ftrace shows the event, and no BPF
 * program ran for it. Such a call's time in the queue is then counted to
 * now, a segment's time too long, where it would otherwise never end. */
static __noinline void calls_transmitted(struct wf_config *cfg, struct sock_state *st, struct tcp_seg *seg,
					 struct sock *sk)
{
	__u32 seg_end = seg->seq + seg->len;

	count_hit(WF_HOOK_DEV_XMIT);
#pragma clang loop unroll(disable)
	for (int i = 0; i < TX_CALLS; i++) {
		struct tx_call *c = &st->calls[(st->next + i) & (TX_CALLS - 1)];
		struct stage_rec r = {};

		if (!c->ts || !(c->flags & CALL_SCHEDULED) || seq_before(seg_end, c->end))
			continue;
		if (!seq_before(seg->seq, c->end))
			count_late(WF_HOOK_DEV_XMIT);
		queue_rec(&r, st, c, seg->now);
		c->ts = 0;
		record_stages(&r, sk);
	}
}

static __always_inline void ip_output(struct sk_buff *skb, bool btf)
{
	struct wf_config *cfg = wf_cfg();
	struct sock *sk = KREAD(btf, skb, sk);
	struct tcp_seg seg;

	if (!cfg || !sk)
		return;
	struct sock_state *st = state_of(cfg, sk, btf, false);

	if (!st || !skb_tcp_seg(skb, &seg, btf, true) || !seg.len)
		return;
	tx_transmit(cfg, sk, st, &seg);
}

/* The skb's device transmits without a qdisc (loopback, a default veth). */
static __always_inline bool queueless(struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;
	struct Qdisc *qdisc = dev ? dev->qdisc : NULL;

	return qdisc && !qdisc->enqueue;
}

static __noinline void dev_queue_done(struct wf_config *cfg, struct skb_queued *q, __u64 now, __u32 hook)
{
	struct stage_rec r = {};

	r.duration = now - q->ts;
	r.end_ts = now;
	r.cookie = q->cookie;
	r.tgid = q->tgid;
	r.bytes = q->bytes;
	r.seq = q->seq;
	r.seq_end = q->seq + q->bytes;
	r.stages = STAGE_BIT(WF_STAGE_DEV_QUEUE);
	r.hook = hook;
	r.owner = q->owner;
	record_stages(&r, (struct sock *)q->sk);
}

static __always_inline void dev_queue(struct sk_buff *skb)
{
	struct wf_config *cfg = wf_cfg();
	struct sock *sk = skb->sk;
	struct tcp_seg seg;
	__u32 zero = 0;

	if (!cfg || !sk)
		return;
	struct sock_state *st = state_of(cfg, sk, true, false);

	if (!st || !skb_tcp_seg(skb, &seg, true, true) || !seg.len)
		return;

	__u64 key = (__u64)skb;
	bool direct = queueless(skb);
	__u64 *inline_slot = direct ? bpf_map_lookup_elem(&wf_skb_inline, &zero) : NULL;

	if (inline_slot)
		*inline_slot = key;
	count_hit(WF_HOOK_DEV_QUEUE);
	/* Without ip_local_out, the calls are matched here, and timed through
	 * the queue as timestamping times them: from their last byte entering
	 * it to the driver taking it, which a device without a queue does now. */
	if (cfg->tx_match_at_dev_queue) {
		tx_transmit(cfg, sk, st, &seg);
		if (direct)
			calls_transmitted(cfg, st, &seg, sk);
		return;
	}
	/* With ip_local_out hooked, its program already matched the calls: the
	 * skb is timed through the queue, for the socket's owner. */
	struct skb_queued q = {};

	owner_ref_of(cfg, st->cookie, &q.owner, NULL);
	q.ts = seg.now;
	q.cookie = st->cookie;
	q.bytes = seg.len;
	q.seq = seg.seq;
	q.tgid = st->tgid;
	q.sk = (__u64)sk;

	if (direct) {
		dev_queue_done(cfg, &q, q.ts, WF_HOOK_DEV_QUEUE);
		return;
	}
	if (bpf_map_update_elem(&wf_skb_queued, &key, &q, BPF_ANY))
		count_map_full(WF_HOOK_DEV_QUEUE);
	else if (!skb_queued_used)
		skb_queued_used = 1;
}

static __always_inline void dev_xmit(struct sk_buff *skb)
{
	struct wf_config *cfg = wf_cfg();
	__u64 key = (__u64)skb;
	__u32 zero = 0;

	if (!cfg)
		return;
	__u64 *slot = bpf_map_lookup_elem(&wf_skb_inline, &zero);

	if (slot && *slot == key) {
		*slot = 0;
		/* A queued skb may reuse the address of an inline one whose
		 * transmit this hook never saw (dropped or segmented on the
		 * way): the slot only speaks for queue-less devices. */
		if (queueless(skb)) {
			count_hit(WF_HOOK_DEV_XMIT);
			return;
		}
	}
	if (cfg->tx_match_at_dev_queue) {
		struct sock *sk = skb->sk;
		struct sock_state *st = sk ? state_of(cfg, sk, true, false) : NULL;
		struct tcp_seg seg;

		if (st && skb_tcp_seg(skb, &seg, true, true) && seg.len)
			calls_transmitted(cfg, st, &seg, sk);
		return;
	}
	if (!skb_queued_used)
		return;
	struct skb_queued *q = bpf_map_lookup_elem(&wf_skb_queued, &key);

	if (!q)
		return;
	struct skb_queued copy = *q;

	bpf_map_delete_elem(&wf_skb_queued, &key);
	count_hit(WF_HOOK_DEV_XMIT);
	dev_queue_done(cfg, &copy, bpf_ktime_get_ns(), WF_HOOK_DEV_XMIT);
}

/* ---- send path by BPF timestamping (Linux 6.14 and later) ----
 *
 * The kernel stamps the last skb of a send call of a flagged socket when it
 * enters the device queue (SCHED) and when its driver takes it (SND_SW), and
 * calls this sockops program each time: the packets of sockets nobody
 * observes run nothing, where the tracepoints above fire for every packet
 * of every process. A call is timed from the end of its copy (SENDMSG),
 * where its bytes are the tail of the write queue. A stamped skb may carry
 * other calls' bytes too (small writes corked together, the stamp moved to
 * the newest), so a stamp completes every pending call that ends in it.
 */

static __always_inline void tstamp_sendmsg(struct bpf_sock_ops *skops, struct bpf_sock_ops_kern *k)
{
	struct wf_config *cfg = wf_cfg();
	struct sock *sk = k->sk;
	struct tcp_sock *tp = sk ? as_tcp(sk) : NULL;
	__u32 start, end, unacked;
	bool created;

	if (!cfg || !tp)
		return;
	struct sock_state *st = observed_state(cfg, sk, true, true, skops, WF_HOOK_TCP_SENDMSG, &created);

	if (!st)
		return;
	end = tp->write_seq;
	unacked = tp->snd_una;
	if (!st->cookie)
		st->cookie = bpf_get_socket_cookie(skops);
	if (created)
		st->role = first_role(sk, true, tp->bytes_received == 0, WF_ROLE_CLIENT);
	/* The call's bytes follow the last call's. On a socket first seen now,
	 * they follow the last acknowledged byte: in a request/response
	 * exchange the peer has acknowledged what came before, and a large
	 * call's first segments, sent before this callback, wait for their
	 * acknowledgement behind the lock the call holds. (The barrier keeps
	 * the two loads apart: the verifier refuses one load instruction from
	 * two kinds of pointer.) */
	barrier_var(unacked);
	start = st->tx_end_known ? st->tx_end : unacked;
	if (start == end || bpf_sock_ops_enable_tx_tstamp(k, 0))
		return;
	st->tx_end = end;
	st->tx_end_known = 1;
	tx_call_new(cfg, st, start, end);
}

/* What a stamp says of the calls whose last byte its skb holds. */
#define STAMP_SCHED 1 /* it entered the device queue: their last byte is at IP output */
#define STAMP_XMIT 2  /* its driver took it: their time in the device queue ends */

/* A stamp ends stages of the pending calls whose last byte its skb holds. A
 * stamped skb may hold several calls' last bytes (small writes corked
 * together, the stamp moved to the newest), and older calls end earlier:
 * the walk goes from the newest call back to the first one that is free or
 * ended before this skb. A device without a queue stamps both at once: the
 * call's send stages and a device queue that took no time, in one record. */
static __noinline void calls_stamped(struct wf_config *cfg, struct sock_state *st, struct tcp_seg *seg,
				     struct sock *sk, __u32 how)
{
	__u32 seg_end = seg->seq + seg->len;

	if (how & STAMP_SCHED) {
		count_hit(WF_HOOK_IP_OUT);
		count_hit(WF_HOOK_DEV_QUEUE);
	}
	if (how & STAMP_XMIT)
		count_hit(WF_HOOK_DEV_XMIT);
#pragma clang loop unroll(disable)
	for (__u32 i = 1; i <= TX_CALLS; i++) {
		struct tx_call *c = &st->calls[(st->next - i) & (TX_CALLS - 1)];
		struct stage_rec r = {};

		if (!c->ts || !seq_before(seg->seq, c->end))
			break;
		if (seq_before(seg_end, c->end))
			continue;
		bool sched = (how & STAMP_SCHED) && !(c->flags & CALL_SCHEDULED);
		bool xmit = (how & STAMP_XMIT) && (sched || (c->flags & CALL_SCHEDULED));

		if (sched) {
			__u32 stages = STAGE_BIT(WF_STAGE_TX_SEND);

			if (!seq_before(c->start, seg->seq))
				stages |= STAGE_BIT(WF_STAGE_TX_FIRST);
			if (xmit)
				stages |= STAGE_BIT(WF_STAGE_DEV_QUEUE);
			c->flags |= CALL_SCHEDULED;
			/* Not before the call began, whichever clock said when. */
			c->ts_hi = seg->now > c->ts ? seg->now : c->ts;
			c->sent_hi = c->end;
			call_rec(&r, st, c, stages, c->ts_hi, c->end);
		} else if (xmit) {
			queue_rec(&r, st, c, seg->now);
		} else {
			continue;
		}
		if (xmit)
			c->ts = 0;
		record_stages(&r, sk);
	}
}

/* A stamp: the pending calls of its skb's socket, which has state, as stamps
 * come only for skbs of calls recorded at SENDMSG. A device without a queue
 * (loopback, a default veth) stamps at its driver right after the queue
 * stamp: the driver's stamp alone ends every stage, and the time its bytes
 * reached IP output is when their transmit began, which the socket's TCP
 * clock kept (tcp_write_xmit reads it before it sends): no clock read. */
static __noinline void tstamp(struct bpf_sock_ops *skops, struct bpf_sock_ops_kern *k)
{
	bool at_queue = skops->op == WF_SOCK_OPS_TSTAMP_SCHED_CB;
	bool direct = queueless(k->skb);

	if (at_queue && direct)
		return;
	struct wf_config *cfg = wf_cfg();
	struct sock_state *st = sock_state_of(k->sk, true, skops, false);
	struct tcp_seg seg;

	if (!cfg || !st || !skb_tcp_seg(k->skb, &seg, true, !direct) || !seg.len)
		return;
	if (direct) {
		struct tcp_sock *tp = as_tcp(k->sk);

		if (!tp)
			return;
		seg.now = tp->tcp_clock_cache;
		calls_stamped(cfg, st, &seg, k->sk, STAMP_SCHED | STAMP_XMIT);
	} else {
		calls_stamped(cfg, st, &seg, k->sk, at_queue ? STAMP_SCHED : STAMP_XMIT);
	}
}

/* Connections established before the sockops program attached: flagged
 * once, as it attaches, so that a restarted agent still times their sends. */
SEC("iter/tcp")
int wf_tstamp_existing(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;

	if (!skc || skc->skc_state != TCP_ESTABLISHED)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (tp)
		wf_tstamp_flag(tp);
	return 0;
}

SEC("sockops")
int wf_tstamp_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		/* In softirq for accepted sockets, where the task is not known:
		 * every connection is flagged, and the send callback filters. */
		wf_tstamp_flag(skops);
		break;
	case WF_SOCK_OPS_TSTAMP_SENDMSG_CB:
		tstamp_sendmsg(skops, bpf_cast_to_kern_ctx(skops));
		break;
	case WF_SOCK_OPS_TSTAMP_SCHED_CB:
	case WF_SOCK_OPS_TSTAMP_SND_SW_CB:
		tstamp(skops, bpf_cast_to_kern_ctx(skops));
		break;
	}
	return 1;
}

/* ---- receive path ---- */

/* The first bytes of the peer's answer arrived on a client socket: the wait
 * since the request was sent is the backend's time (and the network's). */
static __noinline void peer_answered(struct wf_config *cfg, struct sock *sk, struct sock_state *st)
{
	struct wf_peer_key peer = {};
	struct stage_rec r = {};

	/* Bytes still unread from before the request (a pipelining or pooled
	 * client) hold an older readiness time: this answer arrived now. */
	r.end_ts = st->rx_ready.ts >= st->asked_ts ? st->rx_ready.ts : bpf_ktime_get_ns();
	r.duration = r.end_ts - st->asked_ts;
	st->asked_ts = 0;
	r.cookie = st->cookie;
	r.tgid = st->tgid;
	r.stages = STAGE_BIT(WF_STAGE_PEER_WAIT);
	r.hook = WF_HOOK_RX_READY;
	owner_ref_of(cfg, st->cookie, &r.owner, NULL);

	/* sk comes from a tracing program: plain loads, no probe-read calls. */
	peer.family = sk->__sk_common.skc_family;
	peer.port = bpf_ntohs(sk->__sk_common.skc_dport);
	__u32 *addr = (__u32 *)peer.addr;

	if (peer.family == AF_INET) {
		addr[0] = sk->__sk_common.skc_daddr;
	} else {
		for (int i = 0; i < 4; i++)
			addr[i] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[i];
	}
	struct wf_stage_agg *a = bpf_map_lookup_elem(&wf_peer_stats, &peer);

	if (!a) {
		bpf_map_update_elem(&wf_peer_stats, &peer, &zero_agg, BPF_NOEXIST);
		a = bpf_map_lookup_elem(&wf_peer_stats, &peer);
	}
	if (a)
		agg_add(a, r.duration, r.end_ts, 0, true);
	else
		count_map_full(WF_HOOK_RX_READY);
	record_stages(&r, sk);
}

/* The peer acknowledged every byte before snd_una: calls that end there have
 * left, though their last segment's hooks did not run (see
 * calls_transmitted) and no later segment came to end them. When they left
 * is not known any more: their send ends where it was last seen, and their
 * time in the device queue counts as none, so that their bytes are all
 * there. Only when the newest call is pending as bytes arrive, which is
 * rare: the answer to a call comes after the call has left. */
static __noinline void calls_acked(struct wf_config *cfg, struct sock *sk, struct sock_state *st, __u32 snd_una)
{
#pragma clang loop unroll(disable)
	for (int i = 0; i < TX_CALLS; i++) {
		struct tx_call *c = &st->calls[i];
		struct stage_rec r = {};
		__u32 stages = 0;

		if (!c->ts || seq_before(snd_una, c->end))
			continue;
		if (!(c->flags & CALL_SCHEDULED))
			stages |= STAGE_BIT(WF_STAGE_TX_SEND);
		if (cfg->tx_at_driver)
			stages |= STAGE_BIT(WF_STAGE_DEV_QUEUE);
		if (!c->ts_hi)
			c->ts_hi = c->ts;
		call_rec(&r, st, c, stages, c->ts_hi, c->end);
		if (!(stages & STAGE_BIT(WF_STAGE_TX_SEND)))
			r.duration = 0;
		c->ts = 0;
		count_late(WF_HOOK_RX_READY);
		if (stages)
			record_stages(&r, sk);
	}
}

static __always_inline void rx_ready(struct sock *sk)
{
	struct wf_config *cfg = wf_cfg();
	struct tcp_sock *tp = as_tcp(sk);
	__u64 key = (__u64)sk;

	if (!cfg || !tp)
		return;
	struct sock_state *st = state_of(cfg, sk, true, false);

	if (st) {
		if (!st->rx_ready.ts) {
			st->rx_ready.ts = bpf_ktime_get_ns();
			st->rx_ready.copied_seq = tp->copied_seq;
			count_hit(WF_HOOK_RX_READY);
		}
		if (st->asked_ts)
			peer_answered(cfg, sk, st);
		if (st->calls[(st->next - 1) & (TX_CALLS - 1)].ts)
			calls_acked(cfg, sk, st, tp->snd_una);
		return;
	}
	/* The first bytes of a new connection arrive before any observed task
	 * touched it: keep their time for the first read. Later bytes on
	 * sockets nobody observed are not ours: skip them cheaply. */
	if (sk->sk_socket && tp->data_segs_in > 2)
		return;
	if (bpf_map_lookup_elem(&wf_rx_unclaimed, &key))
		return;
	struct rx_mark mark = { .ts = bpf_ktime_get_ns(), .copied_seq = tp->copied_seq };

	bpf_map_update_elem(&wf_rx_unclaimed, &key, &mark, BPF_NOEXIST);
}

static __always_inline void rx_pending_add(__u64 cookie, __u64 wait, __u64 end_ts, __u32 bytes)
{
	struct wf_stage_agg *p = bpf_map_lookup_elem(&wf_rx_pending, &cookie);

	if (!p) {
		bpf_map_update_elem(&wf_rx_pending, &cookie, &zero_agg, BPF_NOEXIST);
		p = bpf_map_lookup_elem(&wf_rx_pending, &cookie);
	}
	if (p)
		agg_add(p, wait, end_ts, bytes, false);
	else
		count_map_full(WF_HOOK_RX_READ);
}

static __always_inline void rx_read(struct sock *sk, int ret, bool btf)
{
	struct wf_config *cfg = wf_cfg();
	__u64 key = (__u64)sk;
	bool created;

	if (!cfg || ret <= 0)
		return;
	struct sock_state *st = traced_state(cfg, sk, btf, WF_HOOK_RX_READ, &created);

	__u32 copied;

	if (!st || !tcp_field(sk, btf, copied_seq, &copied))
		return;
	__u64 sent = 0;

	if (created)
		st->role = first_role(sk, btf, tcp_field(sk, btf, bytes_sent, &sent) && sent == 0, WF_ROLE_SERVER);
	struct rx_mark ready = st->rx_ready;

	if (!ready.ts) {
		if (!created)
			return;
		struct rx_mark *u = bpf_map_lookup_elem(&wf_rx_unclaimed, &key);

		if (!u)
			return;
		ready = *u;
		bpf_map_delete_elem(&wf_rx_unclaimed, &key);
	}
	st->rx_ready.ts = 0;
	/* Someone else read since the bytes became ready (a process outside
	 * the filter, or before it was added): the wait is not this read's. */
	if (copied - ret != ready.copied_seq)
		return;
	count_hit(WF_HOOK_RX_READ);

	struct stage_rec r = {};

	r.end_ts = bpf_ktime_get_ns();
	r.duration = r.end_ts - ready.ts;
	r.cookie = st->cookie;
	r.tgid = st->tgid;
	r.bytes = ret;
	r.stages = STAGE_BIT(WF_STAGE_RX_QUEUE);
	r.hook = WF_HOOK_RX_READ;
	struct owner_ref owner = {};
	struct wf_slot *slot = NULL;
	__u32 flags = owner_ref_of(cfg, st->cookie, &owner, &slot);

	/* A server's bytes belong to the request they start, which has no
	 * owner yet: park them for user space to claim, in the slot or in the
	 * hash. A socket with no owner at all may be a server's new
	 * connection: park those too once user space writes owners (the hash
	 * is an LRU). */
	if (slot && (flags & WF_OWNER_SERVER)) {
		agg_add(&slot->parked_rx, r.duration, r.end_ts, ret, false);
	} else if (cfg->owners_used && (owner.kind == OWNER_NONE || (flags & WF_OWNER_SERVER))) {
		rx_pending_add(st->cookie, r.duration, r.end_ts, ret);
	} else {
		r.owner = owner;
	}
	record_stages(&r, sk);
}

static __always_inline void sock_closed(struct sock *sk)
{
	struct wf_config *cfg = wf_cfg();
	__u64 key = (__u64)sk;

	bpf_map_delete_elem(&wf_rx_unclaimed, &key);
	if (!cfg)
		return;
	struct sock_state *st = state_of(cfg, sk, true, false);

	if (!st)
		return;
	__u64 cookie = st->cookie;

	count_hit(WF_HOOK_SOCK_CLOSE);
	if (cookie) {
		struct wf_slot *slot = slot_of(cookie);

		if (slot)
			__sync_val_compare_and_swap(&slot->cookie, cookie, 0);
		bpf_map_delete_elem(&wf_owners, &cookie);
		bpf_map_delete_elem(&wf_rx_pending, &cookie);
	}
	/* Socket storage goes with the socket; a slot is cleared for the next
	 * socket, then freed; the hash needs a delete. */
	if (cfg->state_in_hash) {
		bpf_map_delete_elem(&wf_socks, &key);
	} else if (st == state_slot(cookie, false)) {
		__builtin_memcpy((void *)st + sizeof(st->cookie), (void *)&zero_sock_state + sizeof(st->cookie),
				 sizeof(*st) - sizeof(st->cookie));
		__sync_val_compare_and_swap(&st->cookie, cookie, 0);
	}
}

/* ---- tcp_sendmsg: fentry, kprobe, or tp_btf ---- */

SEC("fentry/tcp_sendmsg")
int BPF_PROG(wf_sendmsg_fentry, struct sock *sk, struct msghdr *msg, size_t size)
{
	tx_call_begin(sk, size, true);
	return 0;
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(wf_sendmsg_kprobe, struct sock *sk, struct msghdr *msg, size_t size)
{
	tx_call_begin(sk, size, false);
	return 0;
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(wf_sendmsg_btf, struct sock *sk, struct msghdr *msg)
{
	tx_call_begin(sk, msg->msg_iter.count, true);
	return 0;
}

/* ---- ip_local_out: fentry, kprobe; the tp_btf fallback is net_dev_queue ---- */

SEC("fentry/ip_local_out")
int BPF_PROG(wf_ip_out_fentry, struct net *net, struct sock *sk, struct sk_buff *skb)
{
	ip_output(skb, true);
	return 0;
}

SEC("kprobe/ip_local_out")
int BPF_KPROBE(wf_ip_out_kprobe, struct net *net, struct sock *sk, struct sk_buff *skb)
{
	ip_output(skb, false);
	return 0;
}

/* ---- device queue and transmit ---- */

SEC("tp_btf/net_dev_queue")
int BPF_PROG(wf_dev_queue_btf, struct sk_buff *skb)
{
	dev_queue(skb);
	return 0;
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(wf_dev_xmit_btf, struct sk_buff *skb)
{
	dev_xmit(skb);
	return 0;
}

/* ---- receive queue ---- */

SEC("tp_btf/sk_data_ready")
int BPF_PROG(wf_rx_ready_btf, struct sock *sk)
{
	rx_ready(sk);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(wf_rx_read_btf, struct sock *sk, int ret)
{
	rx_read(sk, ret, true);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(wf_sock_state_btf, struct sock *sk, int oldstate, int newstate)
{
	if (newstate == TCP_CLOSE)
		sock_closed(sk);
	return 0;
}
