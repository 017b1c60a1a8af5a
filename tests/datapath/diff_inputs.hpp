// Inputs of the differential test: the shared corpus (by path, with its index), the fuzz seeds
// of tests/fuzz, and deterministic mutations of each.
#pragma once

#include "localize.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sipalg::diff {

struct Base {
    std::string name;      // where it came from (corpus file, seed file)
    std::string msg;       // the bytes as stored (for seeds: the payload part)
    std::string client_ip; // the address that stands for the sending phone ("" : none)
};

// The shared corpus: $SIPALG_CORPUS_DIR, else `dflt`. Empty when absent.
std::vector<Base> load_corpus(const std::string &dflt);
// Every file of the seed directories, without what the fuzz targets read before the message
// (seeds, seeds_daemon: the selector byte; seeds_stream: the framing prefix).
std::vector<Base> load_seeds(const std::string &fuzz_dir);

using testing::localize; // tests/common/localize.hpp

// Deterministic PRNG (splitmix64): the same seed gives the same inputs everywhere.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) : s_(seed) {}
    std::uint64_t next();
    std::size_t below(std::size_t n) { return n ? static_cast<std::size_t>(next() % n) : 0; }

  private:
    std::uint64_t s_;
};

// 1 to 3 of: bit flip, byte set, truncation, CRLF / ':' / digits inserted at a header boundary,
// a short deletion, a line duplicated or repeated many times, an address swapped for one the
// rules treat otherwise, padding to just under or over the MTU or the in-kernel limit.
// Never empty.
std::string mutate(const std::string &msg, Rng &rng);

std::string hex(const std::string &s, std::size_t max = 4096);

} // namespace sipalg::diff
