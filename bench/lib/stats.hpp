// The benchmarks' statistics, defined once: every median, quantile and extreme a bench prints
// comes from here, so two tables never disagree on what "median" means.
#pragma once

#include <vector>

namespace bench {

// The middle element of the sorted samples; for an even count the mean of the two middle
// ones. NaN when there are none (printed as "nan", written to JSON as null).
double median(std::vector<double> v);

// The sample at rank floor(q * n) of the sorted samples (clamped to the last): p99 of 100
// samples is the largest but one. NaN when there are none.
double quantile(std::vector<double> v, double q);

double min_of(const std::vector<double> &v); // NaN when empty
double max_of(const std::vector<double> &v); // NaN when empty

} // namespace bench
