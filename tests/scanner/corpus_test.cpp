// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Every message of the shared corpus (../shared/corpus, or $SIPALG_CORPUS_DIR), with its
// client_ip turned into a LAN address, goes through outbound and inbound scan+apply: it comes
// out with no LAN literal left where the ALG rewrites, or with a non-rewrite verdict. Skipped
// when the corpus is absent. The corpus is read in place, never copied into the repository.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "alg_harness.hpp"
#include "corpus_index.hpp"
#include "localize.hpp"

using namespace sipalg_test;

namespace {

const char *const kLan = "192.168.10.11";

std::string corpus_dir() {
    if (const char *e = std::getenv("SIPALG_CORPUS_DIR"))
        return e;
#ifdef SIPALG_CORPUS_DEFAULT
    return SIPALG_CORPUS_DEFAULT;
#else
    return "";
#endif
}

struct Entry {
    std::string file, set, verdict, client_ip;
};

// gtest prints parameters: the file name says it all.
void PrintTo(const Entry &e, std::ostream *os) {
    *os << e.file;
}

std::vector<Entry> load_index() {
    std::vector<Entry> out;
    for (const auto &col : sipalg::testing::read_corpus_index(corpus_dir()))
        out.push_back({col[0], col[1], col[2], col[4]});
    if (out.empty())
        out.push_back({"absent", "", "", ""});
    return out;
}

std::string read_file(const std::string &path) {
    return sipalg::testing::read_whole_file(path);
}

bool is_ipv4(const std::string &s) {
    return !s.empty() && s.find(':') == std::string::npos &&
           s.find_first_not_of("0123456789.") == std::string::npos;
}

std::string lower(std::string s) {
    for (char &c : s)
        c = char(tolower((unsigned char)c));
    return s;
}

// Where the ALG must have replaced the LAN address: returns a description of the first leak.
std::string find_leak(const std::string &out) {
    // clang-format off
    static const char *const rewritten[] = {
            "via", "v", "contact", "m", "from", "f", "to", "t", "route", "record-route",
            "refer-to", "r", "referred-by", "b", "p-asserted-identity", "p-preferred-identity",
            "remote-party-id", "diversion"};
    // clang-format on
    std::istringstream in(out);
    std::string line, hdr;
    bool first = true, body = false;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (!body && line.empty()) {
            body = true;
            continue;
        }
        size_t at = 0;
        bool leak_here = false;
        while ((at = line.find(kLan, at)) != std::string::npos) {
            char before = at ? line[at - 1] : ' ';
            bool v6 = at >= 7 && line.compare(at - 7, 7, "::ffff:") == 0; // IPv6 path
            if (!v6 && (before == '@' || before == ':' || before == '=' || before == ' ' ||
                        before == '\t' || before == ','))
                leak_here = true;
            at++;
        }
        if (first) {
            first = false;
            if (leak_here && line.rfind("SIP/2.0", 0) != 0)
                return "request line: " + line;
            continue;
        }
        if (body) {
            if (leak_here && (line.rfind("o=", 0) == 0 || line.rfind("c=", 0) == 0 ||
                              line.rfind("a=rtcp:", 0) == 0))
                return "sdp: " + line;
            continue;
        }
        if (line[0] != ' ' && line[0] != '\t') {
            size_t colon = line.find(':');
            hdr = colon == std::string::npos ? "" : lower(line.substr(0, colon));
            while (!hdr.empty() && (hdr.back() == ' ' || hdr.back() == '\t'))
                hdr.pop_back();
        }
        for (const char *h : rewritten)
            if (leak_here && hdr == h)
                return "header: " + line;
    }
    return "";
}

bool truncated_capture(const std::string &msg) {
    size_t p = msg.find("Content-Length:"), sep = msg.find("\r\n\r\n");
    if (p == std::string::npos || sep == std::string::npos)
        return false;
    return std::stoul(msg.substr(p + 15)) > msg.size() - sep - 4;
}

class Corpus : public ::testing::TestWithParam<Entry> {};

TEST_P(Corpus, RewrittenOrDefinedVerdict) {
    const Entry &e = GetParam();
    if (e.file == "absent")
        GTEST_SKIP() << "corpus not found (set SIPALG_CORPUS_DIR): " << corpus_dir();
    std::string msg = read_file(corpus_dir() + "/" + e.file);
    ASSERT_FALSE(msg.empty()) << e.file;
    if (is_ipv4(e.client_ip))
        msg = sipalg::testing::localize(msg, e.client_ip, kLan);

    Policy p;
    p.ports = {{5060, 5062}};
    Result r = outbound(msg, p, lan_match({{ip4(192, 168, 10, 0), 24}}));
    ASSERT_GE(r.scan, SIPALG_OK);
    ASSERT_LE(r.scan, SIPALG_TOO_BIG);
    RecordProperty("verdict", r.scan);
    RecordProperty("reason", r.sc->reason);
    if (r.scan == SIPALG_OK) {
        ASSERT_TRUE(r.apply == SIPALG_OK || r.apply == SIPALG_TOO_BIG) << r.apply;
        if (r.apply == SIPALG_OK) {
            EXPECT_EQ(find_leak(r.out), "") << e.file;
            // The rewritten message scans again, and has nothing left to rewrite.
            Result again = scan_only(r.out, lan_match({{ip4(192, 168, 10, 0), 24}}));
            EXPECT_EQ(again.scan, SIPALG_OK) << e.file;
            for (const sipalg_occ &o : again.occ())
                EXPECT_TRUE(o.kind == SIPALG_OCC_NONE || o.kind == SIPALG_OCC_CONTENT_LENGTH)
                        << e.file << " offset " << o.off;
            // and the inbound direction accepts it as well.
            Result back = inbound(r.out, p);
            EXPECT_EQ(back.scan, SIPALG_OK) << e.file;
        }
    }
    // real/ captures are valid SIP: below the in-kernel size they must be rewritable, unless
    // the capture itself was cut short (body shorter than its Content-Length).
    if (e.set == "real" && msg.size() <= SIPALG_MSG_MAX && !truncated_capture(msg)) {
        EXPECT_EQ(r.scan, SIPALG_OK) << e.file << " reason " << int(r.sc->reason);
    }
}

std::string name_of(const ::testing::TestParamInfo<Entry> &info) {
    std::string n = info.param.file;
    for (char &c : n)
        if (!isalnum((unsigned char)c))
            c = '_';
    return n;
}

INSTANTIATE_TEST_SUITE_P(Shared, Corpus, ::testing::ValuesIn(load_index()), name_of);

} // namespace
