/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ddemux - demultiplexing-principle enforcement between security domains
 *
 * The address-set model, the pure policy decisions and the registry API.
 * Everything declared here is free of hooks: ddemux_policy.c holds no
 * state at all and ddemux_table.c only its own, so both run unchanged
 * under KUnit (UML) and in the module.
 */
#ifndef _DDEMUX_H
#define _DDEMUX_H

#include <linux/types.h>
#include <linux/in6.h>
#include <linux/uidgid.h>
#include <linux/spinlock.h>
#include <linux/rhashtable-types.h>
#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/gfp.h>

/* Transport protocols whose port (or echo ident) spaces ddemux guards. */
enum ddemux_proto {
	DDEMUX_TCP,
	DDEMUX_UDP,
	DDEMUX_UDPLITE,
	DDEMUX_PING,		/* ICMP and ICMPv6 echo: one ident space */
	DDEMUX_SCTP,
	DDEMUX_DCCP,
	DDEMUX_NPROTO,
};

/*
 * TCP and DCCP: connection sockets of the inet_hashinfo kind, whose
 * states are TCP's numbers (DCCP_LISTEN is TCP_LISTEN, DCCP_CLOSED
 * TCP_CLOSE): neither closed nor listening, such a socket has a peer.
 */
static inline bool ddemux_proto_tcp_like(int proto)
{
	return proto == DDEMUX_TCP || proto == DDEMUX_DCCP;
}

/* Which packet families an address set receives. */
#define DDEMUX_FAM_V4		BIT(0)
#define DDEMUX_FAM_V6		BIT(1)
#define DDEMUX_FAM_DUAL		(DDEMUX_FAM_V4 | DDEMUX_FAM_V6)

/* Socket state as far as demultiplexing is concerned. */
enum ddemux_state {
	DDEMUX_BOUND,		/* has a port, neither listening nor connected */
	DDEMUX_LISTEN,		/* TCP listener */
	DDEMUX_CONNECTED,	/* has a remote address (TCP or datagram) */
};

/* Opt-ins and origin flags of an address set. */
#define DDEMUX_REUSEADDR	BIT(0)	/* SO_REUSEADDR */
#define DDEMUX_REUSEPORT	BIT(1)	/* SO_REUSEPORT */
#define DDEMUX_KERNEL		BIT(2)	/* kernel socket (informational) */
#define DDEMUX_CHILD		BIT(3)	/* accept()ed TCP child */
#define DDEMUX_L3ANY		BIT(4)	/* unbound, receives VRF traffic too */
#define DDEMUX_GROUP		BIT(5)	/* a multicast or broadcast address */
#define DDEMUX_MPTCP		BIT(6)	/* a subflow of an MPTCP socket */
#define DDEMUX_OPTIN		(DDEMUX_REUSEADDR | DDEMUX_REUSEPORT)

/* Owner domain of a socket: the sysctl "domain" selects what counts. */
#define DDEMUX_DOM_UID		BIT(0)
#define DDEMUX_DOM_CGROUP	BIT(1)
#define DDEMUX_DOM_ALL		(DDEMUX_DOM_UID | DDEMUX_DOM_CGROUP)

/*
 * Packed to 4-byte alignment, so that an address set has no hole in it:
 * the registry keeps one per socket (ddemux_table.c, "Memory").
 */
struct ddemux_domain {
	kuid_t uid;		/* global kuid of the socket's owner */
	u64 cgid;		/* cgroup v2 id the socket was created in */
} __packed __aligned(4);

/**
 * struct ddemux_aset - the addresses one socket may validly receive
 * @laddr: local address; all-zero is the wildcard.  IPv4 addresses are
 *	stored v4-mapped (::ffff:a.b.c.d) so that one comparison serves both
 *	families.  A set holds at most one specific local address, and a
 *	specific address belongs to exactly one family.
 * @raddr: remote address; all-zero means any remote.
 * @dom: owner domain.
 * @dev: bound device ifindex, 0 for any.
 * @mdev: when @dev is an L3 master device (a VRF) or enslaved to one,
 *	the master's ifindex (l3mdev_master_ifindex()); else 0.
 * @lport: local port, or the echo ident for %DDEMUX_PING (host order).
 * @rport: remote port, 0 for any (host order); always 0 for ping.
 * @proto: &enum ddemux_proto.
 * @fam: %DDEMUX_FAM_* bits: v4 and/or v6 packets are received.  A
 *	dual-stack IPv6 socket (v6only=0, wildcard) carries both bits.
 * @state: &enum ddemux_state.
 * @flags: %DDEMUX_REUSEADDR, %DDEMUX_REUSEPORT, %DDEMUX_KERNEL, ...
 * @part: for a socket bound to several local addresses (SCTP), which of
 *	its @parts sets this is (from 0).  A socket's set is then the union
 *	of its parts: every part has the same port, domain, device, state
 *	and flags, and one local address.
 * @parts: how many; 0 for a socket's only set (every other socket).
 *
 * A packet address (proto, family, local addr:port, remote addr:port,
 * ingress device) is in the set when every field matches or the set has
 * a wildcard there.  The ingress device is the pair the kernel matches
 * sockets on (inet_bound_dev_eq()): (device, 0) for a packet that arrived
 * on an ordinary device; (VRF, slave) for one that arrived on a VRF's
 * slave, and (VRF, VRF) for one looped back inside the VRF.  A bound set
 * receives the pairs that name its device; an unbound one the pairs
 * (device, 0), and the others only with %DDEMUX_L3ANY.
 */
struct ddemux_aset {
	struct in6_addr laddr;
	struct in6_addr raddr;
	struct ddemux_domain dom;
	int dev;
	int mdev;
	u16 lport;
	u16 rport;
	u8 proto;
	u8 fam;
	u8 state;
	u8 flags;
	u8 part;
	u8 parts;
};

/* The most local addresses of one socket's set (DDEMUX_* @parts). */
#define DDEMUX_PARTS_MAX	32

/**
 * struct ddemux_paddr - one packet address, seen from the receiving socket
 * @laddr: destination address of the packet (specific; v4 stored mapped)
 * @raddr: source address of the packet (v4 stored mapped)
 * @lport: destination port, or echo ident
 * @rport: source port (0 for echo)
 * @dev: ingress device as the kernel's dif (the VRF for a packet that
 *	arrived on a VRF's slave), 0 if unknown: then any device matches
 * @sdif: the slave it arrived on (the kernel's sdif), else 0
 * @proto: &enum ddemux_proto
 * @fam: %DDEMUX_FAM_V4 or %DDEMUX_FAM_V6 (exactly one)
 * @foreign: @laddr is none of the namespace's own addresses: a wildcard
 *	set does not receive it (only a set bound to @laddr itself does).
 *	Left false wherever that is not known, which is the safe side for
 *	"could another set receive it" and the only meaning rule 2 knows.
 */
struct ddemux_paddr {
	struct in6_addr laddr;
	struct in6_addr raddr;
	int dev;
	int sdif;
	u16 lport;
	u16 rport;
	u8 proto;
	u8 fam;
	bool foreign;
};

/**
 * struct ddemux_pkt - an outbound packet as it appears on the wire
 * @saddr: source address (v4 stored mapped, 0.0.0.0 as all-zero)
 * @daddr: destination address
 * @sport: source port, or the echo ident of an echo request
 * @dport: destination port (0 for echo)
 * @proto: &enum ddemux_proto
 * @fam: %DDEMUX_FAM_V4 or %DDEMUX_FAM_V6 (exactly one)
 */
struct ddemux_pkt {
	struct in6_addr saddr;
	struct in6_addr daddr;
	u16 sport;
	u16 dport;
	u8 proto;
	u8 fam;
};

/* Enforcement mode (sysctl net.ddemux.mode). */
enum ddemux_mode {
	DDEMUX_MODE_OFF,
	DDEMUX_MODE_AUDIT,
	DDEMUX_MODE_ENFORCE,
};

enum ddemux_verdict {
	DDEMUX_ALLOW,		/* no conflict */
	DDEMUX_AUDIT,		/* a conflict, allowed because of the mode */
	DDEMUX_DENY,		/* a conflict, refused */
};

/* Why a decision came out the way it did; printed in every log line. */
enum ddemux_reason {
	DDEMUX_R_NO_OVERLAP,	/* no address in common */
	DDEMUX_R_SAME_DOMAIN,	/* same domain: the kernel's own rules apply */
	DDEMUX_R_SHARED,	/* share rule and every socket opted in */
	DDEMUX_R_CROSS_DOMAIN,	/* overlap with another domain, no share rule */
	DDEMUX_R_NOT_OPTED_IN,	/* share rule, but a socket did not opt in */
	DDEMUX_R_GROUP,		/* a group address: every member receives */
	DDEMUX_R_NREASONS,
};

const char *ddemux_reason_name(enum ddemux_reason r);
const char *ddemux_proto_name(enum ddemux_proto p);
const char *ddemux_state_name(enum ddemux_state s);

/*
 * Share rules: administrator opt-in for cross-domain overlap on a port.
 * Five rule spaces (tcp, udp - which also covers UDP-Lite -, ping, sctp,
 * dccp), each
 * a sorted list of disjoint, non-adjacent port ranges.  The object is
 * immutable once published; writers build a new one and swap it in.
 */
enum ddemux_share_proto {
	DDEMUX_SHARE_TCP,
	DDEMUX_SHARE_UDP,
	DDEMUX_SHARE_PING,
	DDEMUX_SHARE_SCTP,
	DDEMUX_SHARE_DCCP,
	DDEMUX_SHARE_NPROTO,
};

#define DDEMUX_SHARES_MAX	64	/* ranges per protocol */
#define DDEMUX_SHARES_WRITE_MAX	4096	/* bytes per write() */

struct ddemux_port_range {
	u16 lo;
	u16 hi;
};

struct ddemux_shares {
	unsigned int nr[DDEMUX_SHARE_NPROTO];
	struct ddemux_port_range r[DDEMUX_SHARE_NPROTO][DDEMUX_SHARES_MAX];
};

bool ddemux_shares_cover(const struct ddemux_shares *s, enum ddemux_proto p,
			 u16 port);
int ddemux_shares_apply(struct ddemux_shares *s, const char *buf, size_t len);
int ddemux_shares_format(const struct ddemux_shares *s, char *buf,
			 size_t size);

/* A snapshot of the policy knobs of one network namespace. */
struct ddemux_policy {
	u8 mode;		/* &enum ddemux_mode */
	u8 domain;		/* DDEMUX_DOM_* mask, never 0 */
	const struct ddemux_shares *shares;	/* may be NULL: no rules */
};

bool ddemux_overlap(const struct ddemux_aset *a, const struct ddemux_aset *b);
bool ddemux_aset_equal(const struct ddemux_aset *a, const struct ddemux_aset *b);
bool ddemux_aset_within(const struct ddemux_aset *a,
			const struct ddemux_aset *b);
bool ddemux_parts_overlap(const struct ddemux_aset *a, unsigned int na,
			  const struct ddemux_aset *b, unsigned int nb);
bool ddemux_parts_within(const struct ddemux_aset *set,
			 const struct ddemux_aset *parts, unsigned int n);
bool ddemux_same_domain(const struct ddemux_domain *a,
			const struct ddemux_domain *b, u8 domain_mask);
enum ddemux_verdict ddemux_decide(const struct ddemux_policy *pol,
				  const struct ddemux_aset *new,
				  const struct ddemux_aset *old,
				  enum ddemux_reason *reason);
bool ddemux_contains(const struct ddemux_aset *set,
		     const struct ddemux_paddr *pa);
void ddemux_reply_of(const struct ddemux_pkt *out, struct ddemux_paddr *reply);
bool ddemux_reply_in_set(const struct ddemux_pkt *out,
			 const struct ddemux_aset *set);

/**
 * struct ddemux_sock_view - the socket fields that define its address set
 * @v6_rcv_saddr: sk_v6_rcv_saddr (AF_INET6 only)
 * @v6_daddr: sk_v6_daddr (AF_INET6 only)
 * @v4_rcv_saddr: inet_rcv_saddr (AF_INET only): the bound address
 * @v4_daddr: inet_daddr (AF_INET only)
 * @v4_saddr: inet_saddr: the source address; 0 while an AF_INET socket
 *	bound to a multicast or broadcast address is not connected
 * @bound_dev: sk_bound_dev_if
 * @lport: inet_num
 * @rport: the peer's port, host order
 * @family: AF_INET or AF_INET6
 * @proto: its &enum ddemux_proto
 * @state: sk_state (TCP_*)
 * @flags: %DDEMUX_REUSEADDR, %DDEMUX_REUSEPORT, %DDEMUX_KERNEL,
 *	%DDEMUX_MPTCP
 * @v6only: ipv6_only_sock()
 *
 * Pointers into the socket for the IPv6 addresses, not copies.  Filled by
 * ddemux_sk_view() (ddemux_fast.h); ddemux_aset_from_view() turns it into
 * the socket's address set, the one place that decides what a socket's
 * set is, for the registry and for rule 3 alike.
 */
struct ddemux_sock_view {
	const struct in6_addr *v6_rcv_saddr;
	const struct in6_addr *v6_daddr;
	__be32 v4_rcv_saddr;
	__be32 v4_daddr;
	__be32 v4_saddr;
	int bound_dev;
	u16 lport;
	u16 rport;
	u8 family;
	u8 proto;
	u8 state;
	u8 flags;
	bool v6only;
};

void ddemux_aset_from_view(const struct ddemux_sock_view *sv,
			   struct ddemux_aset *s);

/* Address helpers shared by the policy, the hooks and the tests. */
void ddemux_addr_set_v4(struct in6_addr *a, __be32 v4);
bool ddemux_addr_any(const struct in6_addr *a);
bool ddemux_addr_is_v4(const struct in6_addr *a);
void ddemux_aset_set_local(struct ddemux_aset *s, int family, __be32 v4,
			   const struct in6_addr *v6, bool v6only);
void ddemux_aset_set_remote(struct ddemux_aset *s, int family, __be32 v4,
			    const struct in6_addr *v6, u16 port);
void ddemux_aset_normalise(struct ddemux_aset *s);
int ddemux_aset_format(const struct ddemux_aset *s, char *buf, size_t size);
int ddemux_aset_format_local(const struct ddemux_aset *s, char *buf,
			     size_t size);
int ddemux_aset_format_remote(const struct ddemux_aset *s, char *buf,
			      size_t size);

/*
 * The registry: the address sets of one network namespace.
 *
 * Entries are keyed by their owner (the struct sock pointer, never
 * dereferenced here), grouped by (protocol, port) and, within a port, by
 * local address, so that a check touches only the sets that can overlap.
 * Each port has its own lock; readers walk under RCU.  See
 * ddemux_table.c.
 */
struct ddemux_dom;

/*
 * How many emptied port nodes a registry keeps (ddemux_table.c,
 * port_park()): a bind to a port number used a moment ago, the usual
 * case for a service that restarts or a client that binds ports in
 * turn, then finds its node, and the address node the last socket
 * left, in place instead of allocating and hashing both again.  The
 * oldest goes first; at most this many times 152 bytes (an 80-byte
 * node and a 72-byte address node) a namespace.  A node made for a port
 * the kernel picked (%DDEMUX_CLAIM_PICKED) is not kept: picked at
 * random, that port rarely comes back, and keeping it would push out
 * one that does.
 */
#define DDEMUX_PARK_MAX	1024

/* The default of the max_entries module parameter: entries a namespace. */
#define DDEMUX_MAX_ENTRIES	1048576

struct ddemux_registry {
	struct rhashtable ports;	/* (proto, port) -> struct ddemux_port */
	struct rhashtable addrs;	/* (port, laddr) -> struct ddemux_addr */
	struct rhashtable owners;	/* owner -> struct ddemux_entry */
	struct rhashtable doms;		/* uid, cgroup -> struct ddemux_dom */
	spinlock_t dom_lock;		/* a domain counter's birth and removal */
	/* counters at 0 kept for reuse, a cgroup's and a uid's; set under
	 * dom_lock, read without it
	 */
	struct ddemux_dom *dom_park[2];
	/* the counters last charged, a cgroup's and a uid's; RCU, dom_lock */
	struct ddemux_dom __rcu *dom_hint[2];
	spinlock_t park_lock;		/* @parked, @nr_parked */
	struct list_head parked;	/* emptied port nodes kept, oldest first */
	unsigned int nr_parked;
	atomic_t nr;			/* entries, pending included */
	unsigned int max;		/* bound on @nr */
	unsigned int quota;		/* bound on one domain's entries, 0: none */
	u8 quota_mask;			/* what a domain is (DDEMUX_DOM_*) */
	atomic64_t full;		/* claims not recorded: @max reached */
	atomic64_t quota_hits;		/* claims not recorded: over @quota */
	atomic64_t nomem;		/* claims not recorded: allocation failed */
	bool dead;			/* torn down */
};

/* Flags for ddemux_reg_claim(). */
#define DDEMUX_CLAIM_PENDING	BIT(0)	/* reserve, the kernel has not hashed yet */
#define DDEMUX_CLAIM_FORCE	BIT(1)	/* record even if the verdict is DENY */
#define DDEMUX_CLAIM_IF_ABSENT	BIT(2)	/* only for an owner without entry */
#define DDEMUX_CLAIM_NO_QUOTA	BIT(3)	/* past the domain's quota (at load) */
#define DDEMUX_CLAIM_PICKED	BIT(4)	/* a port the kernel picked at random */
#define DDEMUX_CLAIM_NEW_ADDR	BIT(5)	/* an address node is likely needed */
#define DDEMUX_CLAIM_FRESH	BIT(6)	/* the owner is known to have no entry */

/*
 * A socket that already holds a set and is about to change it reserves
 * the new one under a key of its own, the owner with the low bit set
 * (struct sock is never byte-aligned), so that both sets are held until
 * the change is done.  A claim never conflicts with its own socket's
 * entries under either key.
 */
static inline const void *ddemux_resv_key(const void *owner)
{
	return (const void *)((unsigned long)owner | 1UL);
}

static inline const void *ddemux_key_owner(const void *key)
{
	return (const void *)((unsigned long)key & ~1UL);
}

/**
 * struct ddemux_conflict - what a claim collided with (for the log)
 * @holder: the first conflicting address set
 * @holder_pid: tgid recorded when the holder claimed its set
 * @holder_pending: the holder's claim is still pending
 * @reason: the reason of the verdict
 * @unrecorded: the set was allowed but could not be recorded
 *	(ddemux_judge() refuses it then)
 * @why: why not: -ENOSPC (the registry is full), -EDQUOT (the domain is
 *	at its quota), -ENOMEM
 * @present: %DDEMUX_CLAIM_IF_ABSENT found an entry: nothing was done
 * @recorded: the entry the claim left @owner, NULL if none; for
 *	ddemux_reg_settle()
 */
struct ddemux_conflict {
	struct ddemux_aset holder;
	u32 holder_pid;
	bool holder_pending;
	enum ddemux_reason reason;
	bool unrecorded;
	int why;
	bool present;
	struct ddemux_entry *recorded;
};

/* One row of the registry, as a walk reads it. */
struct ddemux_snap_row {
	struct ddemux_aset set;
	u32 pid;
	bool pending;
};

/* A walk over every entry (ddemux_reg_iter_start()); opaque. */
struct ddemux_reg_iter {
	struct ddemux_registry *reg;
	u32 next;			/* port number * DDEMUX_NPROTO + proto */
	struct ddemux_port *port;
	struct ddemux_addr *addr;
	struct ddemux_entry *e;
};

int ddemux_reg_module_init(void);
void ddemux_reg_module_exit(void);
int ddemux_reg_init(struct ddemux_registry *reg, unsigned int max);
void ddemux_reg_set_quota(struct ddemux_registry *reg, unsigned int quota,
			  u8 mask);
void ddemux_reg_destroy(struct ddemux_registry *reg);
enum ddemux_verdict ddemux_reg_claim(struct ddemux_registry *reg,
				     const void *owner,
				     const struct ddemux_aset *set, u32 pid,
				     unsigned int flags,
				     const struct ddemux_policy *pol, gfp_t gfp,
				     struct ddemux_conflict *c);
bool ddemux_reg_commit(struct ddemux_registry *reg, const void *owner,
		       const void *key, const struct ddemux_aset *set, u32 pid);
void ddemux_reg_settle(struct ddemux_entry *e);
bool ddemux_reg_release(struct ddemux_registry *reg, const void *owner);
bool ddemux_reg_release_adopted(struct ddemux_registry *reg,
				const void *owner);
bool ddemux_reg_get(struct ddemux_registry *reg, const void *owner,
		    struct ddemux_aset *set, bool *pending);
bool ddemux_reg_find_other(struct ddemux_registry *reg,
			   const struct ddemux_paddr *pa,
			   const struct ddemux_domain *dom, u8 domain_mask,
			   struct ddemux_aset *found);
bool ddemux_reg_port_used(struct ddemux_registry *reg, u8 proto, u16 port);
unsigned int ddemux_reg_count(struct ddemux_registry *reg);
/*
 * Built only with the KUnit suites; a bool option, so a plain #ifdef,
 * which the userspace fuzzers' shim reads too.
 */
#ifdef CONFIG_DDEMUX_KUNIT_TEST
unsigned int ddemux_reg_addr_nodes(struct ddemux_registry *reg,
				   unsigned int *indexed);
unsigned int ddemux_reg_pooled(bool drain);
#endif

extern atomic_t *ddemux_port_users;

/*
 * Does a set of any namespace, of any protocol, hold @port?  A hint, as
 * lock-free answers are: false means no socket receives on the port at
 * this instant.
 */
static inline bool ddemux_port_used_anywhere(u16 port)
{
	return atomic_read(&ddemux_port_users[port]) != 0;
}

bool ddemux_reg_iter_start(struct ddemux_registry *reg,
			   struct ddemux_reg_iter *it, loff_t pos);
bool ddemux_reg_iter_next(struct ddemux_reg_iter *it);
void ddemux_reg_iter_stop(struct ddemux_reg_iter *it);
void ddemux_reg_iter_row(const struct ddemux_reg_iter *it,
			 struct ddemux_snap_row *row);

#endif /* _DDEMUX_H */
