#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace bench {

double median(std::vector<double> v) {
    if (v.empty())
        return NAN;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double quantile(std::vector<double> v, double q) {
    if (v.empty())
        return NAN;
    std::sort(v.begin(), v.end());
    const std::size_t i =
            std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
    return v[i];
}

double min_of(const std::vector<double> &v) {
    return v.empty() ? NAN : *std::min_element(v.begin(), v.end());
}

double max_of(const std::vector<double> &v) {
    return v.empty() ? NAN : *std::max_element(v.begin(), v.end());
}

} // namespace bench
