#include "instance/slow_cleanup.hpp"

#include "attach/run_cmd.hpp"
#include "slow/failover.hpp"

#include <cctype>
#include <sstream>
#include <vector>

namespace sipalg {
namespace {

// The daemon's name for its table (steering.cpp).
std::string nft_table(const std::string &wan) {
    std::string t = "sipalg_slow_" + wan;
    for (char &c : t)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
            c = '_';
    return t;
}

std::string hex(std::uint32_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

} // namespace

std::string remove_daemon_steering(const std::string &wan, std::uint32_t mark) {
    std::string removed;
    const auto note = [&removed](const std::string &what) {
        removed += (removed.empty() ? "" : ", ") + what;
    };
    const std::string table = nft_table(wan);
    if (run_cmd({"nft", "delete", "table", "ip", table}) == 0)
        note("nft table " + table);
    const std::string failover = slow::failover_table(wan);
    if (run_cmd({"nft", "delete", "table", "ip", failover}) == 0)
        note("nft table " + failover + " (the WAN failover redirect)");
    if (mark == 0)
        return removed;
    std::string tables;
    if (run_cmd({"nft", "list", "tables", "ip"}, &tables) != 0 ||
        tables.find("sipalg_slow_") != std::string::npos)
        return removed; // another daemon still steers with the rule (or nft cannot tell)
    std::string rules;
    run_cmd({"ip", "-4", "rule", "show", "fwmark", hex(mark)}, &rules);
    std::istringstream in(rules);
    std::string line;
    std::vector<std::string> route_tables;
    // "50:	from all fwmark 0x51a1 lookup 1306"
    while (std::getline(in, line)) {
        const auto at = line.find(" lookup ");
        if (at == std::string::npos)
            continue;
        std::istringstream rest(line.substr(at + 8));
        std::string tbl;
        rest >> tbl;
        if (tbl.empty() || tbl.find_first_not_of("0123456789") != std::string::npos)
            continue; // only numbered tables: the daemon's own, never main/local/default
        if (run_cmd({"ip", "-4", "rule", "del", "fwmark", hex(mark), "lookup", tbl}) == 0) {
            note("ip rule fwmark " + hex(mark) + " lookup " + tbl);
            route_tables.push_back(tbl);
        }
    }
    for (const auto &tbl : route_tables) {
        if (run_cmd({"ip", "-4", "route", "flush", "table", tbl}) == 0)
            note("routes of table " + tbl);
    }
    return removed;
}

} // namespace sipalg
