/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ddemux - a socket's fields, and rule 3's fast path on them
 *
 * ddemux_sk_view() reads the fields that make a socket's address set;
 * ddemux_aset_from_view() (ddemux_policy.c) turns them into the set.  The
 * registry records that set (ddemux_core.c) and rule 3's general path
 * asks it whether a reply is the sender's own (ddemux_reply.c).
 *
 * ddemux_fast_own4()/_own6() answer that question for the packets of
 * ordinary TCP (MPTCP subflows too), DCCP, UDP and UDP-Lite sockets
 * without building the set: the egress hooks run them on every packet.
 * The ddemux_fast KUnit suite drives them and the model with the same
 * sockets and packets and requires the same answers, so there is one
 * meaning of "the reply is mine", and this is a faster way to compute
 * it.
 *
 * Kernel code: the module and the KUnit suite include it, the userspace
 * fuzzers do not.
 */
#ifndef _DDEMUX_FAST_H
#define _DDEMUX_FAST_H

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/tcp_states.h>
#include <net/tcp.h>		/* inet_sk_transparent() */
#include <net/mptcp.h>

#include "ddemux.h"

/* The protocol ddemux guards for this socket, or -1. */
static inline int ddemux_sk_proto(const struct sock *sk)
{
	if (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)
		return -1;
	switch (sk->sk_protocol) {
	case IPPROTO_TCP:
		return sk->sk_type == SOCK_STREAM ? DDEMUX_TCP : -1;
	case IPPROTO_UDP:
		return sk->sk_type == SOCK_DGRAM ? DDEMUX_UDP : -1;
	case IPPROTO_UDPLITE:
		return sk->sk_type == SOCK_DGRAM ? DDEMUX_UDPLITE : -1;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return sk->sk_type == SOCK_DGRAM ? DDEMUX_PING : -1;
	case IPPROTO_SCTP:
		return sk->sk_type == SOCK_STREAM ||
		       sk->sk_type == SOCK_SEQPACKET ? DDEMUX_SCTP : -1;
	case IPPROTO_DCCP:
		return sk->sk_type == SOCK_DCCP ? DDEMUX_DCCP : -1;
	}
	return -1;
}

/*
 * A subflow of an MPTCP socket: a TCP socket the kernel made
 * (sk_kern_sock) that carries its MPTCP socket's connection, with that
 * socket's owner (mptcp_subflow_create_socket() copies the inode's uid,
 * mptcp_attach_cgroup() the cgroup).  Its traffic is the user's.  A full
 * socket.
 */
static __always_inline bool ddemux_sk_subflow(const struct sock *sk)
{
	return sk->sk_protocol == IPPROTO_TCP && sk->sk_type == SOCK_STREAM &&
	       sk_is_mptcp(sk);
}

/*
 * Is what @sk (a full socket) sends a user's?  A user's socket, or an
 * MPTCP subflow; not a kernel socket of the kernel's own (the TCP control
 * socket, ICMP, tunnels), which speaks for no user.
 */
static __always_inline bool ddemux_user_sock(const struct sock *sk)
{
	return !sk->sk_kern_sock || ddemux_sk_subflow(sk);
}

/**
 * ddemux_sk_view - the fields of @sk that make its address set
 * @sk: an AF_INET or AF_INET6 socket
 * @proto: its &enum ddemux_proto
 * @lport: its port (inet_num, or the one it is about to get)
 * @sv: out
 */
static inline void ddemux_sk_view(const struct sock *sk, int proto, u16 lport,
				  struct ddemux_sock_view *sv)
{
	sv->v6_rcv_saddr = &sk->sk_v6_rcv_saddr;
	sv->v6_daddr = &sk->sk_v6_daddr;
	sv->v4_rcv_saddr = READ_ONCE(sk->sk_rcv_saddr);
	sv->v4_daddr = READ_ONCE(sk->sk_daddr);
	sv->v4_saddr = READ_ONCE(inet_sk(sk)->inet_saddr);
	sv->bound_dev = READ_ONCE(sk->sk_bound_dev_if);
	sv->lport = lport;
	sv->rport = ntohs(READ_ONCE(inet_sk(sk)->inet_dport));
	sv->family = sk->sk_family;
	sv->proto = proto;
	sv->state = READ_ONCE(sk->sk_state);
	sv->flags = (sk->sk_reuse ? DDEMUX_REUSEADDR : 0) |
		    (sk->sk_reuseport ? DDEMUX_REUSEPORT : 0) |
		    (sk->sk_kern_sock ? DDEMUX_KERNEL : 0) |
		    (ddemux_sk_subflow(sk) ? DDEMUX_MPTCP : 0);
	sv->v6only = ipv6_only_sock(sk);
}

/*
 * The fast path's sockets: TCP (MPTCP subflows included), DCCP, UDP and
 * UDP-Lite (as ddemux_sk_proto() sees them) bound to no device.  A
 * device-bound socket's replies may arrive on another device than its
 * own, which ddemux_reply.c works out.
 */
static __always_inline bool ddemux_fast_sk(const struct sock *sk)
{
	if (READ_ONCE(sk->sk_bound_dev_if))
		return false;
	if (sk->sk_type == SOCK_STREAM)
		return sk->sk_protocol == IPPROTO_TCP;
	if (sk->sk_type == SOCK_DCCP)
		return sk->sk_protocol == IPPROTO_DCCP;
	return sk->sk_type == SOCK_DGRAM &&
	       (sk->sk_protocol == IPPROTO_UDP ||
		sk->sk_protocol == IPPROTO_UDPLITE);
}

/*
 * The local port and, if the socket has a peer, the peer's port: the
 * part of the test both families share.  *@connected as
 * ddemux_aset_from_view() decides it.
 */
static __always_inline bool ddemux_fast_ports(const struct sock *sk,
					      const __be16 *ports,
					      bool *connected)
{
	u16 lport = READ_ONCE(inet_sk(sk)->inet_num);
	int state = READ_ONCE(sk->sk_state);
	__be16 rport;

	if (!lport || htons(lport) != ports[0])
		return false;
	if (sk->sk_type != SOCK_DGRAM)	/* TCP, DCCP: ddemux_proto_tcp_like() */
		*connected = state != TCP_CLOSE && state != TCP_LISTEN;
	else
		*connected = state == TCP_ESTABLISHED;
	if (!*connected)
		return true;
	rport = inet_sk(sk)->inet_dport;
	return !rport || rport == ports[1];
}

/**
 * ddemux_fast_own4 - is the reply to an IPv4 packet in its sender's set?
 * @sk: the sending socket
 * @iph: the packet's IP header
 * @len: how many bytes from @iph on may be read
 *
 * True: the reply (to the packet's source address and port, from its
 * destination) is in the set ddemux_aset_from_view() makes of @sk, on
 * any device outside a VRF, whether or not the source is one of the
 * host's addresses.  The socket is an AF_INET TCP, DCCP, UDP or UDP-Lite
 * one, bound to no device and not IP_TRANSPARENT (so the kernel sends it only
 * from the namespace's own addresses: ip_route_output_key_hash_rcu()),
 * and the packet plain (its own protocol, not a later fragment, the
 * ports within @len).  False says nothing: the general path decides.
 *
 * The caller checks that no VRF exists in the namespace: then no reply
 * arrives on a device the set would not receive on, and since rule 2
 * keeps other domains' sets apart from this one, none of them holds it.
 */
static __always_inline bool ddemux_fast_own4(struct sock *sk,
					     const struct iphdr *iph,
					     unsigned int len)
{
	const __be16 *ports;
	bool connected;
	__be32 a;

	if (sk->sk_family != AF_INET || !ddemux_fast_sk(sk) ||
	    len < sizeof(*iph) || iph->version != 4 || iph->ihl < 5 ||
	    (iph->frag_off & htons(IP_OFFSET)) ||
	    iph->protocol != sk->sk_protocol || len < iph->ihl * 4 + 4 ||
	    inet_sk_transparent(sk))
		return false;
	ports = (const __be16 *)((const u8 *)iph + iph->ihl * 4);
	if (!ddemux_fast_ports(sk, ports, &connected))
		return false;
	a = READ_ONCE(sk->sk_rcv_saddr);
	if (a && a != iph->saddr)
		return false;
	if (!connected)
		return true;
	a = READ_ONCE(sk->sk_daddr);
	return !a || a == iph->daddr;
}

/**
 * ddemux_fast_own6 - is the reply to an IPv6 packet in its sender's set?
 * @sk: the sending socket
 * @ip6: the packet's IPv6 header
 * @len: how many bytes from @ip6 on may be read
 *
 * As ddemux_fast_own4(), for an AF_INET6 socket that cannot send from an
 * address that is not the host's (ipv6_can_nonlocal_bind(): the IPv6
 * output path does not check the source of a bound socket) and a packet
 * with no extension header.
 */
static __always_inline bool ddemux_fast_own6(struct sock *sk,
					     const struct ipv6hdr *ip6,
					     unsigned int len)
{
	const struct in6_addr *l6 = &sk->sk_v6_rcv_saddr;
	const struct in6_addr *r6 = &sk->sk_v6_daddr;
	const __be16 *ports = (const __be16 *)(ip6 + 1);
	bool connected;

	if (sk->sk_family != AF_INET6 || !ddemux_fast_sk(sk) ||
	    len < sizeof(*ip6) + 4 || ip6->version != 6 ||
	    ip6->nexthdr != sk->sk_protocol ||
	    ipv6_addr_v4mapped(&ip6->saddr) ||
	    ipv6_addr_v4mapped(&ip6->daddr) ||
	    ipv6_can_nonlocal_bind(sock_net(sk), inet_sk(sk)) ||
	    !ddemux_fast_ports(sk, ports, &connected))
		return false;
	/* a v4-mapped socket address holds no IPv6 reply */
	if (ipv6_addr_v4mapped(l6) ||
	    (!ipv6_addr_any(l6) && !ipv6_addr_equal(l6, &ip6->saddr)))
		return false;
	if (!connected)
		return true;
	if (ipv6_addr_v4mapped(r6))	/* ::ffff:0.0.0.0 is any peer */
		return !r6->s6_addr32[3];
	return ipv6_addr_any(r6) || ipv6_addr_equal(r6, &ip6->daddr);
}

#endif /* _DDEMUX_FAST_H */
