// The shared corpus (../shared/corpus): its index.tsv (file, set, verdict, ..., client IP) and
// the messages it names, for the tests that run every corpus message through the code.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sipalg::testing {

inline std::string read_whole_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// The index's rows, split at tabs: comments, the header and rows of fewer than five columns
// left out. Empty when the corpus is absent.
inline std::vector<std::vector<std::string>> read_corpus_index(const std::string &dir) {
    std::ifstream f(dir + "/index.tsv");
    std::vector<std::vector<std::string>> rows;
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '#' || line.rfind("file\t", 0) == 0)
            continue;
        std::vector<std::string> col;
        std::stringstream ss(line);
        std::string c;
        while (std::getline(ss, c, '\t'))
            col.push_back(c);
        if (col.size() >= 5)
            rows.push_back(std::move(col));
    }
    return rows;
}

} // namespace sipalg::testing
