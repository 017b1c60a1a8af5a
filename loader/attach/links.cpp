#include "attach/links.hpp"

#include "cli/error.hpp"
#include "state/unique_fd.hpp"

#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

namespace sipalg {
namespace {

// The netdev family's numbers (include/uapi/linux/netdev.h, 6.3+; Debian 12's headers are
// older).
constexpr std::uint8_t kNetdevCmdDevGet = 1;
constexpr std::uint16_t kNetdevAttrIfindex = 1;
constexpr std::uint16_t kNetdevAttrXdpFeatures = 3;

// One request, then every reply message until the kernel says done (or, for a non-dump
// request, the one answer). Calls `on_msg` for each; returns 0 or -errno.
int nl_talk(int proto, const void *req, size_t len,
            const std::function<void(const nlmsghdr *)> &on_msg) {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto));
    if (!fd.valid())
        return -errno;
    timeval tv{2, 0}; // bounded: a kernel that never answers cannot hang the loader
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (::sendto(fd.get(), req, len, 0, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0)
        return -errno;
    std::vector<char> buf(1 << 16);
    for (int rounds = 0; rounds < 4096; ++rounds) {
        const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
        if (n < 0)
            return -errno;
        // NLMSG_OK/NLMSG_NEXT's bounds, written out: the macros compare the unsigned nlmsg_len
        // with a signed remainder, which Clang reports (-Wsign-compare) where they expand.
        const auto got = static_cast<std::size_t>(n);
        for (std::size_t off = 0; off + sizeof(nlmsghdr) <= got;) {
            const auto *h = reinterpret_cast<const nlmsghdr *>(buf.data() + off);
            if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > got - off)
                break;
            off += NLMSG_ALIGN(h->nlmsg_len);
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const auto *e = static_cast<const nlmsgerr *>(NLMSG_DATA(h));
                return e->error;
            }
            on_msg(h);
            if (!(h->nlmsg_flags & NLM_F_MULTI))
                return 0;
        }
    }
    return -EOVERFLOW;
}

// Calls `on_attr(type, data, len)` for each attribute in [attrs, attrs + len).
template <class Fn>
void each_attr(const void *attrs, int len, Fn on_attr) {
    for (auto *a = static_cast<const rtattr *>(attrs); RTA_OK(a, len); a = RTA_NEXT(a, len))
        on_attr(a->rta_type & NLA_TYPE_MASK, RTA_DATA(a), static_cast<int>(RTA_PAYLOAD(a)));
}

template <class T>
T attr_as(const void *data, int len) {
    T v{};
    if (len >= static_cast<int>(sizeof(T)))
        std::memcpy(&v, data, sizeof(T));
    return v;
}

struct GenlRequest {
    nlmsghdr nh;
    genlmsghdr g;
    char attrs[64];
};

size_t put_attr(GenlRequest &r, size_t off, std::uint16_t type, const void *data,
                std::uint16_t len) {
    auto *a = reinterpret_cast<rtattr *>(r.attrs + off);
    a->rta_type = type;
    a->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    std::memcpy(RTA_DATA(a), data, len);
    return off + RTA_ALIGN(a->rta_len);
}

int genl_request(std::uint16_t family, std::uint8_t cmd, const GenlRequest &tmpl, size_t attrs,
                 const std::function<void(const nlmsghdr *)> &on_msg) {
    GenlRequest r = tmpl;
    r.nh.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(GENL_HDRLEN) + attrs);
    r.nh.nlmsg_type = family;
    r.nh.nlmsg_flags = NLM_F_REQUEST;
    r.nh.nlmsg_seq = 1;
    r.g.cmd = cmd;
    r.g.version = 1;
    return nl_talk(NETLINK_GENERIC, &r, r.nh.nlmsg_len, on_msg);
}

void each_genl_attr(const nlmsghdr *h, const std::function<void(int, const void *, int)> &fn) {
    const int len = static_cast<int>(h->nlmsg_len) - NLMSG_LENGTH(GENL_HDRLEN);
    each_attr(reinterpret_cast<const char *>(NLMSG_DATA(h)) + GENL_HDRLEN, len, fn);
}

std::optional<std::uint16_t> netdev_family() {
    GenlRequest r{};
    static const char kName[] = "netdev";
    const size_t n = put_attr(r, 0, CTRL_ATTR_FAMILY_NAME, kName, sizeof(kName));
    std::optional<std::uint16_t> id;
    genl_request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, r, n, [&](const nlmsghdr *h) {
        each_genl_attr(h, [&](int type, const void *data, int len) {
            if (type == CTRL_ATTR_FAMILY_ID)
                id = attr_as<std::uint16_t>(data, len);
        });
    });
    return id;
}

} // namespace

std::vector<Link> dump_links() {
    struct {
        nlmsghdr nh;
        ifinfomsg ifi;
    } req{};
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
    req.nh.nlmsg_type = RTM_GETLINK;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nh.nlmsg_seq = 1;
    req.ifi.ifi_family = AF_UNSPEC;
    std::vector<Link> links;
    const int err = nl_talk(NETLINK_ROUTE, &req, req.nh.nlmsg_len, [&](const nlmsghdr *h) {
        if (h->nlmsg_type != RTM_NEWLINK)
            return;
        const auto *ifi = static_cast<const ifinfomsg *>(NLMSG_DATA(h));
        Link l;
        l.ifindex = static_cast<unsigned int>(ifi->ifi_index);
        each_attr(IFLA_RTA(ifi), static_cast<int>(IFLA_PAYLOAD(h)),
                  [&](int type, const void *data, int len) {
                      if (type == IFLA_IFNAME)
                          l.name.assign(static_cast<const char *>(data),
                                        strnlen(static_cast<const char *>(data), len));
                      else if (type == IFLA_MASTER)
                          l.master = attr_as<std::uint32_t>(data, len);
                      else if (type == IFLA_ADDRESS && len == 6)
                          l.mac = attr_as<Mac>(data, len);
                      else if (type == IFLA_LINKINFO)
                          each_attr(data, len, [&](int t, const void *d, int n) {
                              if (t == IFLA_INFO_KIND)
                                  l.kind.assign(static_cast<const char *>(d),
                                                strnlen(static_cast<const char *>(d), n));
                          });
                  });
        links.push_back(l);
    });
    if (err)
        throw UserError("cannot list the network interfaces over netlink (" + errno_text(err) +
                        ")");
    return links;
}

std::optional<std::uint64_t> xdp_features(unsigned int ifindex) {
    const auto family = netdev_family();
    if (!family)
        return std::nullopt;
    GenlRequest r{};
    const std::uint32_t idx = ifindex;
    const size_t n = put_attr(r, 0, kNetdevAttrIfindex, &idx, sizeof(idx));
    std::optional<std::uint64_t> features;
    genl_request(*family, kNetdevCmdDevGet, r, n, [&](const nlmsghdr *h) {
        each_genl_attr(h, [&](int type, const void *data, int len) {
            if (type == kNetdevAttrXdpFeatures)
                features = attr_as<std::uint64_t>(data, len);
        });
    });
    return features;
}

bool accepts_xdp_frames(unsigned int ifindex) {
    const auto f = xdp_features(ifindex);
    return f && (*f & kXdpActNdoXmit);
}

} // namespace sipalg
