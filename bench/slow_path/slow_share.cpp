// Which share of real SIP traffic the kernel hands to the slow path: every real capture of the
// shared corpus (../shared/corpus/real, or $SIPALG_CORPUS_DIR), its sending phone's address
// replaced by a LAN address, put through the in-kernel scanner with the kernel's limits
// (include/sipalg, host build, exactly as bpf/ compiles it). A message takes the slow path if it
// is carried over TCP, if the scanner refuses it as over a limit, or if it does not fit one
// 1500-byte IP packet (fragmented). Prints a table; `--md FILE` writes it as a section.
#include "alg_harness.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string corpus_dir() {
    if (const char *e = std::getenv("SIPALG_CORPUS_DIR"))
        return e;
    return SIPALG_CORPUS_DEFAULT;
}

std::string read_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

void replace_all(std::string &s, const std::string &from, const std::string &to) {
    if (from.empty())
        return;
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

struct Row {
    std::string file;
    std::size_t bytes = 0;
    std::string transport, path;
};

} // namespace

int main(int argc, char **argv) {
    std::string md;
    for (int i = 1; i + 1 < argc; i++)
        if (std::string(argv[i]) == "--md")
            md = argv[i + 1];
    std::ifstream index(corpus_dir() + "/index.tsv");
    if (!index) {
        std::printf("corpus not found at %s: nothing measured\n", corpus_dir().c_str());
        return 0;
    }
    std::vector<Row> rows;
    std::string line;
    while (std::getline(index, line)) {
        std::vector<std::string> col;
        std::stringstream ss(line);
        std::string c;
        while (std::getline(ss, c, '\t'))
            col.push_back(c);
        if (col.size() < 5 || col[1] != "real")
            continue;
        std::string msg = read_file(corpus_dir() + "/" + col[0]);
        replace_all(msg, col[4], "192.168.10.11");
        Row r;
        r.file = col[0].substr(col[0].find('/') + 1);
        r.bytes = msg.size();
        const bool tcp = msg.find("SIP/2.0/TCP") != std::string::npos ||
                         r.file.find("-tcp") != std::string::npos;
        r.transport = tcp ? "TCP" : "UDP";
        const sipalg_test::Result res = sipalg_test::outbound(msg);
        if (tcp)
            r.path = "slow: TCP";
        else if (res.scan == SIPALG_TOO_BIG)
            r.path = "slow: over the kernel's size limit";
        else if (res.scan == SIPALG_TOO_COMPLEX)
            r.path = "slow: over a kernel scanner limit";
        else if (msg.size() + 28 > 1500)
            r.path = "slow: fragmented (over 1500-byte MTU)";
        else if (res.scan == SIPALG_MALFORMED)
            r.path = "kernel: malformed, passed untouched";
        else
            r.path = "kernel";
        rows.push_back(r);
    }
    std::size_t slow = 0, slow_udp = 0, udp = 0;
    std::ostringstream t;
    t << "| message (shared corpus, real/) | bytes | transport | path |\n|---|---|---|---|\n";
    for (const Row &r : rows) {
        const bool s = r.path.rfind("slow", 0) == 0;
        slow += s;
        udp += r.transport == "UDP";
        slow_udp += s && r.transport == "UDP";
        t << "| " << r.file << " | " << r.bytes << " | " << r.transport << " | " << r.path
          << " |\n";
    }
    std::ostringstream sum;
    sum << "Slow path: " << slow << " of " << rows.size() << " real messages ("
        << (rows.empty() ? 0 : 100 * slow / rows.size()) << "%); over UDP alone " << slow_udp
        << " of " << udp << " (" << (udp ? 100 * slow_udp / udp : 0) << "%).\n";
    std::printf("%s\n%s", t.str().c_str(), sum.str().c_str());
    if (!md.empty()) {
        std::ofstream f(md);
        f << "### Share of real messages that take the slow path\n\n"
          << "Every real capture of the shared corpus, its phone's address made a LAN address, "
             "through the in-kernel scanner with the kernel's limits (bench/slow_share).\n\n"
          << t.str() << "\n"
          << sum.str();
    }
    return 0;
}
