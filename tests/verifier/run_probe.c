// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loads scan_probe.bpf.o (the verifier is the test), prints the verifier's statistics, then runs
 * a real Ethernet/IPv4/UDP INVITE+SDP frame through BPF_PROG_TEST_RUN: once to check the output
 * (exact rewritten bytes, lengths, IPv4 checksum), then with a repeat count for ns/packet (with
 * write-back off, so that every repetition rewrites the original frame).
 *
 *   run_probe <scan_probe.bpf.o> [repeat] [perf-only]   exit 0: loaded and rewrote correctly
 * perf-only skips the output checks (for the cost-breakdown builds, -DPROBE_COPY_ONLY /
 * -DPROBE_SCAN_ONLY, which do not rewrite).
 *
 * Needs root (CAP_BPF + CAP_SYS_ADMIN for test_run) and a kernel with bpf_loop (>= 5.17).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probe_stats.h"

static const char invite[] = "INVITE sip:bob@198.51.100.7 SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP 192.168.10.11:5060;rport;branch=z9hG4bK776asdhds\r\n"
                             "Max-Forwards: 70\r\n"
                             "To: Bob <sip:bob@198.51.100.7>\r\n"
                             "From: Alice <sip:alice@192.168.10.11>;tag=1928301774\r\n"
                             "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
                             "CSeq: 314159 INVITE\r\n"
                             "Contact: <sip:alice@192.168.10.11:5060>\r\n"
                             "User-Agent: probe\r\n"
                             "Content-Type: application/sdp\r\n"
                             "Content-Length: 210\r\n"
                             "\r\n"
                             "v=0\r\n"
                             "o=alice 2890844526 2890844526 IN IP4 192.168.10.11\r\n"
                             "s=-\r\n"
                             "c=IN IP4 192.168.10.11\r\n"
                             "t=0 0\r\n"
                             "m=audio 49170 RTP/AVP 0 8 101\r\n"
                             "a=rtpmap:0 PCMU/8000\r\n"
                             "a=rtcp:49171\r\n"
                             "m=video 51372 RTP/AVP 31\r\n"
                             "a=rtpmap:31 H261/90000\r\n";

/* What scan_probe's fake NAT decisions must turn it into, byte for byte. */
static const char invite_out[] =
        "INVITE sip:bob@198.51.100.7 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 203.0.113.1:15060;rport;branch=z9hG4bK776asdhds\r\n"
        "Max-Forwards: 70\r\n"
        "To: Bob <sip:bob@198.51.100.7>\r\n"
        "From: Alice <sip:alice@203.0.113.1>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
        "CSeq: 314159 INVITE\r\n"
        "Contact: <sip:alice@203.0.113.1:15060>\r\n"
        "User-Agent: probe\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: 206\r\n"
        "\r\n"
        "v=0\r\n"
        "o=alice 2890844526 2890844526 IN IP4 203.0.113.1\r\n"
        "s=-\r\n"
        "c=IN IP4 203.0.113.1\r\n"
        "t=0 0\r\n"
        "m=audio 40000 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtcp:40001\r\n"
        "m=video 40002 RTP/AVP 31\r\n"
        "a=rtpmap:31 H261/90000\r\n";

static const char reg[] = "REGISTER sip:registrar.example.com SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 192.168.10.11:5060;rport;branch=z9hG4bKa1\r\n"
                          "Max-Forwards: 70\r\n"
                          "From: <sip:100@registrar.example.com>;tag=1\r\n"
                          "To: <sip:100@registrar.example.com>\r\n"
                          "Call-ID: 1-2@pc33.example.com\r\n"
                          "CSeq: 1 REGISTER\r\n"
                          "Contact: <sip:100@192.168.10.11:5060;transport=udp>;expires=600\r\n"
                          "Expires: 600\r\n"
                          "Content-Length: 0\r\n"
                          "\r\n";

static __u16 ip_csum(const void *p, size_t n) {
    const __u16 *w = p;
    __u32 s = 0;

    for (size_t i = 0; i < n / 2; i++)
        s += w[i];
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (__u16)~s;
}

static size_t build_frame(unsigned char *f, const char *payload, size_t plen) {
    struct ethhdr *eth = (struct ethhdr *)f;
    struct iphdr *ip = (struct iphdr *)(eth + 1);
    struct udphdr *udp = (struct udphdr *)(ip + 1);

    memset(f, 0, sizeof(*eth) + sizeof(*ip) + sizeof(*udp));
    memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x02", 6);
    memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x01", 6);
    eth->h_proto = htons(ETH_P_IP);
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->saddr = inet_addr("192.168.10.11");
    ip->daddr = inet_addr("198.51.100.7");
    ip->tot_len = htons(sizeof(*ip) + sizeof(*udp) + plen);
    ip->check = ip_csum(ip, sizeof(*ip));
    udp->source = htons(5060);
    udp->dest = htons(5060);
    udp->len = htons(sizeof(*udp) + plen);
    memcpy(udp + 1, payload, plen);
    return sizeof(*eth) + sizeof(*ip) + sizeof(*udp) + plen;
}

/* Prints ns/packet for a frame carrying SIP over REPEAT runs; non-zero when the run fails. */
static int perf(int fd, const char *what, const char *sip, size_t sip_len, int repeat) {
    unsigned char in[4096], out[4096];
    const size_t flen = build_frame(in, sip, sip_len);
    int err;

    LIBBPF_OPTS(bpf_test_run_opts, many, .data_in = in, .data_size_in = flen, .data_out = out,
                .data_size_out = sizeof(out), .repeat = repeat);
    err = bpf_prog_test_run_opts(fd, &many);
    if (err) {
        fprintf(stderr, "test_run repeat: %s\n", strerror(-err));
        return 1;
    }
    printf("perf: %s (%zu bytes SIP), copy-in + scan + apply: %u ns/packet (repeat %d)\n", what,
           sip_len, many.duration, repeat);
    return 0;
}

int main(int argc, char **argv) {
    unsigned char in[4096], out[4096];
    struct bpf_prog_info info;
    __u32 info_len = sizeof(info), key = 0;
    struct probe_stats ps;
    struct bpf_object *obj;
    struct bpf_program *prog;
    int repeat = argc > 2 ? atoi(argv[2]) : 100000, fd, err, bad = 0;
    int perf_only = argc > 3 && strcmp(argv[3], "perf-only") == 0;
    size_t flen = build_frame(in, invite, sizeof(invite) - 1);
    const size_t hdr = sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr);

    if (argc < 2) {
        fprintf(stderr, "usage: %s scan_probe.bpf.o [repeat]\n", argv[0]);
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: needs root (BPF_PROG_LOAD, BPF_PROG_TEST_RUN)\n");
        return 77;
    }
    obj = bpf_object__open_file(argv[1], NULL);
    if (!obj) {
        fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    err = bpf_object__load(obj);
    if (err == -EPERM) {
        fprintf(stderr, "SKIP: BPF not permitted here\n");
        return 77;
    }
    if (err) {
        fprintf(stderr,
                "verifier rejected scan_probe (run with LIBBPF_LOG=debug / bpftool -d): %d\n", err);
        return 1;
    }
    prog = bpf_object__find_program_by_name(obj, "scan_probe");
    fd = bpf_program__fd(prog);
    memset(&info, 0, sizeof(info));
    if (bpf_obj_get_info_by_fd(fd, &info, &info_len) == 0)
        printf("verifier: loaded, %u instructions processed (verified_insns), %u BPF insns\n",
               info.verified_insns, info.xlated_prog_len / 8);

    LIBBPF_OPTS(bpf_test_run_opts, once, .data_in = in, .data_size_in = flen, .data_out = out,
                .data_size_out = sizeof(out), .repeat = 1);
    err = bpf_prog_test_run_opts(fd, &once);
    if (err) {
        fprintf(stderr, "test_run: %s\n", strerror(-err));
        return 1;
    }
    bpf_map_lookup_elem(bpf_object__find_map_fd_by_name(obj, "probe_stats"), &key, &ps);
    printf("run: retval %u (3 = XDP_TX), scan verdict %u, apply verdict %u, %u occurrences, "
           "payload %zu -> %u bytes\n",
           once.retval, ps.scan_verdict, ps.verdict, ps.n_occ, sizeof(invite) - 1, ps.out_len);
    if (perf_only)
        goto perf;
    if (once.retval != 3 || once.data_size_out != hdr + ps.out_len) {
        fprintf(stderr, "FAIL: not rewritten\n");
        return 1;
    }
    out[once.data_size_out] = 0;
    printf("----\n%s----\n", (const char *)out + hdr);
    if (ps.out_len != sizeof(invite_out) - 1 ||
        memcmp(out + hdr, invite_out, sizeof(invite_out) - 1) != 0) {
        fprintf(stderr, "FAIL: output differs from the expected rewrite\n");
        bad = 1;
    }
    {
        const struct iphdr *oip = (const struct iphdr *)(out + sizeof(struct ethhdr));
        const struct udphdr *oudp = (const struct udphdr *)(oip + 1);

        if (ntohs(oip->tot_len) != sizeof(*oip) + sizeof(*oudp) + ps.out_len ||
            ntohs(oudp->len) != sizeof(*oudp) + ps.out_len) {
            fprintf(stderr, "FAIL: IPv4/UDP lengths\n");
            bad = 1;
        }
    }
    if (ip_csum(out + sizeof(struct ethhdr), sizeof(struct iphdr)) != 0) {
        fprintf(stderr, "FAIL: IPv4 checksum\n");
        bad = 1;
    }

perf:;
    ps.bench = 1;
    bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "probe_stats"), &key, &ps, BPF_ANY);
    if (perf(fd, "INVITE+SDP", invite, sizeof(invite) - 1, repeat) ||
        perf(fd, "REGISTER", reg, sizeof(reg) - 1, repeat))
        return 1;
    bpf_object__close(obj);
    printf("%s\n", bad ? "FAIL" : "PASS");
    return bad;
}
